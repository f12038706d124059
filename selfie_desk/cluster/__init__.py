"""Scoring on a Ray cluster (`selfie-desk score --cluster`, issue 18): the same per-photo pass as
selfie_desk.neural.pipeline, run by Ray actors on many processes or machines, while this process alone
indexes and writes the catalog. Ray is an extra (`pip install 'selfie-desk[cluster]'`) and is imported only
inside the functions that start or join a cluster, so the app and every other command run without it."""
