/* A stable qsort() that replaces musl's (which is not stable).
 * libisofs sorts file content by weight with many ties; glibc's qsort is a
 * merge sort that keeps ties in input order, so native xorriso lays files out
 * in tree order. Matching that order is needed for byte-identical ISOs. */
#include <stdlib.h>
#include <string.h>

typedef int (*cmp_fn)(const void *, const void *);

/* Insertion sort: stable, in place, used for short runs and when malloc fails. */
static void insertion_sort(char *base, size_t n, size_t size, cmp_fn cmp, char *tmp)
{
    for (size_t i = 1; i < n; i++) {
        size_t j = i;
        if (cmp(base + (j - 1) * size, base + j * size) <= 0)
            continue;
        memcpy(tmp, base + i * size, size);
        while (j > 0 && cmp(base + (j - 1) * size, tmp) > 0) {
            memcpy(base + j * size, base + (j - 1) * size, size);
            j--;
        }
        memcpy(base + j * size, tmp, size);
    }
}

/* Top-down merge sort of base[0..n) using scratch space of n elements. */
static void merge_sort(char *base, size_t n, size_t size, cmp_fn cmp, char *scratch)
{
    if (n <= 8) {
        insertion_sort(base, n, size, cmp, scratch);
        return;
    }
    size_t half = n / 2;
    merge_sort(base, half, size, cmp, scratch);
    merge_sort(base + half * size, n - half, size, cmp, scratch);
    /* Already ordered across the seam: nothing to merge. */
    if (cmp(base + (half - 1) * size, base + half * size) <= 0)
        return;
    memcpy(scratch, base, half * size);
    char *left = scratch, *left_end = scratch + half * size;
    char *right = base + half * size, *right_end = base + n * size;
    char *out = base;
    while (left < left_end && right < right_end) {
        /* Take from the left on ties: that is what keeps the sort stable. */
        if (cmp(left, right) <= 0) {
            memcpy(out, left, size);
            left += size;
        } else {
            memcpy(out, right, size);
            right += size;
        }
        out += size;
    }
    memcpy(out, left, (size_t) (left_end - left));
}

void qsort(void *base, size_t n, size_t size, cmp_fn cmp)
{
    if (n < 2 || size == 0)
        return;
    char *scratch = malloc((n / 2 + 1) * size);
    if (scratch == NULL) {
        char one[256];
        char *tmp = size <= sizeof(one) ? one : malloc(size);
        if (tmp == NULL)
            abort();
        insertion_sort(base, n, size, cmp, tmp);
        if (tmp != one)
            free(tmp);
        return;
    }
    merge_sort(base, n, size, cmp, scratch);
    free(scratch);
}
