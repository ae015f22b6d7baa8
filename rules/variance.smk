# Stage 'variance' (being built).


rule variance:
    input:
        [],
    localrule: True
