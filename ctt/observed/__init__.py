"""What a test run observed, and how rows compare: the vocabulary every expectation and check reads.

``model``: the records ctt sent (with ground-truth marks), the records it read back,
the engine's metrics, and the :class:`~ctt.observed.model.ValidationContext` a check
receives. ``rows``: normalising and comparing rows, and the readable diff. They sit
below the oracle, snapshots and validators, which all build on them.
"""
