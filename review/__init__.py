"""The judgement on answers: aggregation, agreement, gold and the reviewers' queue.

Empty until the quality issue: in the labeling loop an item is simply "filled" once it has as
many answers as its project's overlap.
"""
