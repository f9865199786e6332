/* nearest: "did you mean": the candidate nearest a mistyped word by edit distance
 * (a swap of two letters counts as one edit), offered only when it is close. */
#ifndef TEND_NEAREST_H
#define TEND_NEAREST_H

/* The best candidate so far; start with {0}, offer each candidate in turn. */
struct nearest {
    const char *best; /* NULL: none close enough */
    int distance;
};

/* Edits between a and b; a large number for words over 127 bytes. */
int nearest_distance(const char *a, const char *b);
/* Considers cand as a correction of word: kept when close enough (at most two edits,
 * and at most a third of word's length, rounded up) and nearer than the best so far. */
void nearest_offer(struct nearest *n, const char *word, const char *cand);

#endif
