"""Hand-written request cores (subject, body) of each split of fixtures/corpus,
one module per split directory (dev, dev2, dev3, holdout, new4, new4b, new5);
tools/gen_corpus.py wraps them into mails."""
