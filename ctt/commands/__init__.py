"""One thin module per ``ctt`` command: builds the domain object it needs and interprets its result.

``ctt.cli`` parses arguments and calls these; they may use the domain packages
(flinktest, ci, datagen, stack), which never import back from here.
"""
