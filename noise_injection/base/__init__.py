"""The helpers below the stages, used by rules/*.smk's scripts and by every layer above:
checked reads of results (``inputs``) and result records (``results``), job logs
(``runlog``), the figure style (``plotting``), HTML tables (``htmltable``), the constants that
decide verdicts (``constants``, config/verdicts.yaml), the paper's numbers and digitized curves
(``paper_numbers``, ``digitized``) and the t interval of a contrast (``intervals``).

The package's layers, each importing only from those below it (tests/test_layout.py):
``base`` < the library (``perturb``, ``injection``, ``theory``) < the stages (``finite``,
``variance``, ``networks``, ``injector``; none imports another) < ``claims`` < ``workflow``
(the generators that read every stage).
"""
