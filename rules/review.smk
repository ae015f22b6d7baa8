# Stage 'review' (being built).


rule review:
    input:
        [],
    localrule: True
