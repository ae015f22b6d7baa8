# Stage 'networks' (being built).


rule networks:
    input:
        [],
    localrule: True
