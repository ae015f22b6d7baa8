# Stage 'finite' (being built).


rule finite:
    input:
        [],
    localrule: True
