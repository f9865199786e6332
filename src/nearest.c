/* nearest: optimal string alignment distance over three rows, and the rule for close. */
#include "nearest.h"

#include <string.h>

enum { LONGEST = 127, FAR = 1000 };

static int min3(int a, int b, int c)
{
    int m = a < b ? a : b;
    return m < c ? m : c;
}

int nearest_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int rows[3][LONGEST + 1];
    if (la > LONGEST || lb > LONGEST)
        return FAR;
    for (size_t j = 0; j <= lb; j++)
        rows[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int *cur = rows[i % 3], *up = rows[(i - 1) % 3], *up2 = rows[(i + 1) % 3];
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            cur[j] = min3(up[j] + 1, cur[j - 1] + 1, up[j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                up2[j - 2] + 1 < cur[j])
                cur[j] = up2[j - 2] + 1; /* two letters swapped: one slip of the fingers */
        }
    }
    return rows[la % 3][lb];
}

void nearest_offer(struct nearest *n, const char *word, const char *cand)
{
    int d = nearest_distance(word, cand);
    int len = (int)strlen(word);
    if (d == 0 || d > 2 || 3 * d > len + 2)
        return; /* the same word is no correction; a far one is a guess, not a hint */
    if (!n->best || d < n->distance)
        *n = (struct nearest){cand, d};
}
