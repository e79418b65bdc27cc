"""One module per chapter (``chNN_topic``): its experiments and explorers.

They import ``core`` and ``scratch``; nothing in ``course_utils`` imports them."""
