/* Tables through the C API: the flat form of MTMSG_TABLE and
 * MTMSG_TABLE_REF round-trips entry for entry, a reader goes on in the
 * middle of a table, a writer's calls share the numbering of their
 * message's tables, and every malformed array is MTMSG_INVALID_ARGUMENT
 * with nothing added, never a crash. */
#include <math.h>

#include "check.h"

#define NEW_BUFFER(var) \
    mtmsg_buffer *var = NULL; \
    CHECK_OK(mtmsg_buffer_new(NULL, 0, MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_SIZE2, MTMSG_DEFAULT_GROW, &var))

#define NEW_READER(var) \
    mtmsg_reader *var = NULL; \
    CHECK_OK(mtmsg_reader_new(64, 2.0, &var))

/* {10, 20, x = {}, [{true}] = "k"} with t.self = t, then the same table again as a second value. */
static size_t record_entries(mtmsg_value *v)
{
    size_t n = 0;
    v[n++] = mv_table(2, 3);
    v[n++] = mv_int(10);
    v[n++] = mv_int(20);
    v[n++] = mv_cstr("x");
    v[n++] = mv_table(0, 0);
    v[n++] = mv_table(1, 0); /* a table as a key */
    v[n++] = mv_bool(true);
    v[n++] = mv_cstr("k");
    v[n++] = mv_cstr("self");
    v[n++] = mv_ref(0);
    v[n++] = mv_ref(0);
    return n;
}

static bool same_entries(const mtmsg_value *a, const mtmsg_value *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!mv_same(&a[i], &b[i])) return false;
    }
    return true;
}

static void tables_round_trip_entry_for_entry(void)
{
    mtmsg_value sent[16], got[16];
    size_t n = record_entries(sent), count = 0, tables = 0;
    NEW_BUFFER(b);
    NEW_READER(r);
    CHECK_OK(mtmsg_buffer_addmsg(b, sent, n));
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0));
    CHECK_OK(mtmsg_reader_remaining(r, &count));
    CHECK(count == 2); /* two values: the table and the reference to it */
    CHECK_OK(mtmsg_reader_next(r, got, COUNT_OF(got), &count));
    CHECK(count == n);
    CHECK(same_entries(sent, got, n));
    CHECK_OK(mtmsg_reader_tables(r, &tables));
    CHECK(tables == 3);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void reader_goes_on_in_the_middle_of_a_table(void)
{
    mtmsg_value sent[16], got[16];
    size_t n = record_entries(sent), count = 0, read = 0, tables = 0;
    NEW_BUFFER(b);
    NEW_READER(r);
    CHECK_OK(mtmsg_buffer_addmsg(b, sent, n));
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0));
    /* header and the first array value: the table still owes 7 entries, one value has not begun */
    CHECK_OK(mtmsg_reader_next(r, got, 2, &count));
    CHECK(count == 2);
    CHECK_OK(mtmsg_reader_remaining(r, &read));
    CHECK(read == 8);
    CHECK_OK(mtmsg_reader_tables(r, &tables));
    CHECK(tables == 1);
    /* then one entry at a time: the same entries in the same order */
    read = 2;
    while (read < n) {
        CHECK_OK(mtmsg_reader_next(r, got + read, 1, &count));
        CHECK(count == 1);
        read++;
    }
    CHECK_OK(mtmsg_reader_next(r, got + read, 1, &count));
    CHECK(count == 0);
    CHECK(same_entries(sent, got, n));
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void writer_calls_share_the_numbers_of_their_tables(void)
{
    mtmsg_writer *w = NULL;
    size_t tables = 99, count = 0;
    mtmsg_value first[] = { mv_table(1, 0), mv_cstr("a"), mv_table(0, 0) };
    mtmsg_value second[] = { mv_ref(1), mv_table(0, 1), mv_cstr("back"), mv_ref(0) };
    mtmsg_value bad[] = { mv_ref(3) };
    mtmsg_value got[8];
    NEW_BUFFER(b);
    NEW_READER(r);
    CHECK_OK(mtmsg_writer_new(64, 2.0, &w));
    CHECK_OK(mtmsg_writer_tables(w, &tables));
    CHECK(tables == 0);
    CHECK_OK(mtmsg_writer_add(w, first, COUNT_OF(first)));
    CHECK_OK(mtmsg_writer_tables(w, &tables));
    CHECK(tables == 2);
    CHECK_OK(mtmsg_writer_add(w, second, COUNT_OF(second)));
    CHECK_STATUS(mtmsg_writer_add(w, bad, 1), MTMSG_INVALID_ARGUMENT); /* table 3 does not exist yet */
    CHECK_OK(mtmsg_writer_addmsg(w, b));
    CHECK_OK(mtmsg_writer_tables(w, &tables));
    CHECK(tables == 0);
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0));
    CHECK_OK(mtmsg_reader_next(r, got, COUNT_OF(got), &count));
    CHECK(count == COUNT_OF(first) + COUNT_OF(second));
    CHECK(same_entries(first, got, COUNT_OF(first)));
    CHECK(same_entries(second, got + COUNT_OF(first), COUNT_OF(second)));
    mtmsg_writer_release(w);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

/* Adding `values` fails with MTMSG_INVALID_ARGUMENT through every call and
 * leaves the queued message (and the writer's values) as they were. */
static bool refused_everywhere(const mtmsg_value *values, size_t count)
{
    mtmsg_buffer *b = NULL;
    mtmsg_writer *w = NULL;
    mtmsg_reader *r = NULL;
    mtmsg_value keep = mv_cstr("kept"), got[2];
    size_t n = 0, left = 0;
    bool ok = mtmsg_buffer_new(NULL, 0, 64, 1024, 2.0, &b) == MTMSG_OK && mtmsg_writer_new(64, 2.0, &w) == MTMSG_OK &&
              mtmsg_reader_new(64, 2.0, &r) == MTMSG_OK && mtmsg_buffer_addmsg(b, &keep, 1) == MTMSG_OK &&
              mtmsg_writer_add(w, &keep, 1) == MTMSG_OK;
    ok = ok && mtmsg_buffer_addmsg(b, values, count) == MTMSG_INVALID_ARGUMENT;
    ok = ok && mtmsg_buffer_setmsg(b, values, count) == MTMSG_INVALID_ARGUMENT;
    ok = ok && mtmsg_buffer_addmsg_wait(b, values, count, 0) == MTMSG_INVALID_ARGUMENT;
    ok = ok && mtmsg_writer_add(w, values, count) == MTMSG_INVALID_ARGUMENT;
    ok = ok && mtmsg_buffer_msgcnt(b, &left) == MTMSG_OK && left == 1;
    ok = ok && mtmsg_writer_addmsg(w, b) == MTMSG_OK;
    for (int i = 0; ok && i < 2; i++) {
        ok = take_message(b, r, 0, got, 2, &n) == MTMSG_OK && n == 1 && mv_same(&got[0], &keep);
    }
    mtmsg_reader_release(r);
    mtmsg_writer_release(w);
    mtmsg_buffer_release(b);
    return ok;
}

static void malformed_arrays_are_invalid_and_add_nothing(void)
{
    mtmsg_value past_count[] = { mv_table(2, 0), mv_int(1) };
    mtmsg_value pairs_past_count[] = { mv_table(0, 1), mv_cstr("key") };
    mtmsg_value nested_past_count[] = { mv_table(2, 0), mv_table(2, 0), mv_nil(), mv_nil() };
    mtmsg_value overflowing[] = { mv_table(SIZE_MAX, SIZE_MAX / 2 + 1), mv_nil() };
    mtmsg_value ref_not_seen[] = { mv_table(1, 0), mv_ref(1) };
    mtmsg_value ref_first[] = { mv_ref(0) };
    mtmsg_value nil_key[] = { mv_table(0, 1), mv_nil(), mv_int(1) };
    mtmsg_value nan_key[] = { mv_table(0, 1), mv_num(NAN), mv_int(1) };
    mtmsg_value unknown_inside[] = { mv_table(1, 0), mv_nil() };
    mtmsg_value null_string_inside[] = { mv_table(1, 0), mv_str(NULL, 3) };
    unknown_inside[1].type = 99;
    CHECK(refused_everywhere(past_count, COUNT_OF(past_count)));
    CHECK(refused_everywhere(pairs_past_count, COUNT_OF(pairs_past_count)));
    CHECK(refused_everywhere(nested_past_count, COUNT_OF(nested_past_count)));
    CHECK(refused_everywhere(overflowing, COUNT_OF(overflowing)));
    CHECK(refused_everywhere(ref_not_seen, COUNT_OF(ref_not_seen)));
    CHECK(refused_everywhere(ref_first, COUNT_OF(ref_first)));
    CHECK(refused_everywhere(nil_key, COUNT_OF(nil_key)));
    CHECK(refused_everywhere(nan_key, COUNT_OF(nan_key)));
    CHECK(refused_everywhere(unknown_inside, COUNT_OF(unknown_inside)));
    CHECK(refused_everywhere(null_string_inside, COUNT_OF(null_string_inside)));
    CHECK(strstr(mtmsg_last_error(), "values[1]") != NULL || strstr(mtmsg_last_error(), "NULL") != NULL);
}

static void nesting_is_limited_to_max_depth(void)
{
    mtmsg_value nested[MTMSG_MAX_DEPTH + 1];
    NEW_BUFFER(b);
    for (size_t i = 0; i < MTMSG_MAX_DEPTH; i++) nested[i] = mv_table(1, 0);
    nested[MTMSG_MAX_DEPTH] = mv_int(7);
    CHECK_OK(mtmsg_buffer_addmsg(b, nested, MTMSG_MAX_DEPTH + 1));
    nested[MTMSG_MAX_DEPTH] = mv_table(0, 0); /* one level more: even an empty table */
    CHECK(refused_everywhere(nested, MTMSG_MAX_DEPTH + 1));
    CHECK(strstr(mtmsg_last_error(), "deeper than") != NULL);
    mtmsg_buffer_release(b);
}

static void every_broken_prefix_and_mutation_is_refused_or_taken_whole(void)
{
    mtmsg_value sent[16], broken[16], got[32];
    size_t n = record_entries(sent), count;
    NEW_BUFFER(b);
    NEW_READER(r);
    /* any prefix but the whole: the table runs past the count */
    for (size_t len = 1; len < n; len++) {
        mtmsg_status status = mtmsg_buffer_addmsg(b, sent, len);
        CHECK(status == MTMSG_INVALID_ARGUMENT || status == MTMSG_OK);
    }
    /* changed counts and references: each refused or added as a valid message */
    for (size_t at = 0; at < n; at++) {
        for (size_t change = 0; change < 4; change++) {
            memcpy(broken, sent, n * sizeof *sent);
            if (broken[at].type == MTMSG_TABLE) {
                broken[at].as.table.array += change;
                broken[at].as.table.pairs ^= change;
            } else {
                broken[at] = change % 2 ? mv_ref(change) : mv_table(change, change / 2);
            }
            mtmsg_status status = mtmsg_buffer_addmsg(b, broken, n);
            CHECK(status == MTMSG_INVALID_ARGUMENT || status == MTMSG_OK);
        }
    }
    /* whatever was added reads back entry for entry to its end */
    while (mtmsg_buffer_nextmsg(b, r, 0) == MTMSG_OK) {
        do {
            CHECK_OK(mtmsg_reader_next(r, got, 3, &count));
        } while (count > 0);
    }
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void tables_count_against_size1_of_a_fixed_buffer(void)
{
    /* {1, 2, 3}: header 2, table header 3, three integers of 9 bytes: 32 */
    mtmsg_value array[] = { mv_table(3, 0), mv_int(1), mv_int(2), mv_int(3) };
    mtmsg_buffer *exact = NULL, *small = NULL;
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 32, 32, 0.0, &exact));
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 31, 32, 0.0, &small));
    CHECK_OK(mtmsg_buffer_addmsg(exact, array, COUNT_OF(array)));
    CHECK_STATUS(mtmsg_buffer_addmsg(exact, array, COUNT_OF(array)), MTMSG_WOULD_BLOCK);
    CHECK_STATUS(mtmsg_buffer_addmsg(small, array, COUNT_OF(array)), MTMSG_MESSAGE_SIZE);
    mtmsg_buffer_release(exact);
    mtmsg_buffer_release(small);
}

static void reader_value_limit_counts_a_table_as_one_value(void)
{
    enum { ENTRIES = 1000 };
    static mtmsg_value big[ENTRIES + 1];
    size_t count = 0;
    NEW_BUFFER(b);
    NEW_READER(r);
    big[0] = mv_table(ENTRIES, 0);
    for (size_t i = 1; i <= ENTRIES; i++) big[i] = mv_int((int64_t)i);
    CHECK_OK(mtmsg_reader_limit(r, 1));
    CHECK_OK(mtmsg_buffer_addmsg(b, big, ENTRIES + 1));
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0));
    CHECK_OK(mtmsg_reader_remaining(r, &count));
    CHECK(count == 1);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

int main(int argc, char **argv)
{
    RUN(tables_round_trip_entry_for_entry);
    RUN(reader_goes_on_in_the_middle_of_a_table);
    RUN(writer_calls_share_the_numbers_of_their_tables);
    RUN(malformed_arrays_are_invalid_and_add_nothing);
    RUN(nesting_is_limited_to_max_depth);
    RUN(every_broken_prefix_and_mutation_is_refused_or_taken_whole);
    RUN(tables_count_against_size1_of_a_fixed_buffer);
    RUN(reader_value_limit_counts_a_table_as_one_value);
    return check_summary();
}
