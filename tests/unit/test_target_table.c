// SPDX-License-Identifier: MIT
/* Target bookkeeping: slots, labels, the grace period, reuse, churn. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "target_table.h"

struct fake_probes {
	bool attached[16];
	int attaches, detaches, forgets;
	int fail_next_attach;
	__u64 opened_per_slot; /* what each forgotten slot had counted */
};

static int fake_attach(void *ctx, __u32 slot, const char *dir, const unsigned short *ports, size_t count)
{
	struct fake_probes *f = ctx;

	(void)dir;
	(void)ports;
	(void)count;
	if (f->fail_next_attach) {
		f->fail_next_attach = 0;
		errno = EPERM;
		return -1;
	}
	assert_false(f->attached[slot]);
	f->attached[slot] = true;
	f->attaches++;
	return 0;
}

static void fake_detach(void *ctx, __u32 slot)
{
	struct fake_probes *f = ctx;

	assert_true(f->attached[slot]);
	f->attached[slot] = false;
	f->detaches++;
}

static void fake_forget(void *ctx, __u32 slot, struct target_counters *retired)
{
	struct fake_probes *f = ctx;

	/* Never while attached: its sockets could still count into it. */
	assert_false(f->attached[slot]);
	retired->connections_opened += f->opened_per_slot;
	f->forgets++;
}

static const struct target_table_ops fake_ops = {
	.attach = fake_attach,
	.detach = fake_detach,
	.forget = fake_forget,
};

static int add_pod(struct target_table *t, const char *uid, const char *pod)
{
	struct target_identity id = {
		.key = uid,
		.namespace_ = "shop",
		.pod = pod,
		.cgroup_dir = "/sys/fs/cgroup/kubepods/pod",
	};

	return target_table_add(t, &id);
}

static void test_labels(void **state)
{
	char out[TARGET_LABELS_SIZE];

	(void)state;
	target_labels_format(out, sizeof(out), "shop", "api-7d9f-x2x4q");
	assert_string_equal(out, "namespace=\"shop\",pod=\"api-7d9f-x2x4q\"");
	/* Not in a Kubernetes name, but never a broken exposition. */
	target_labels_format(out, sizeof(out), "a\"b", "c\\d\ne");
	assert_string_equal(out, "namespace=\"a\\\"b\",pod=\"c\\\\d\\ne\"");
}

static void test_single_target_has_no_labels(void **state)
{
	struct fake_probes f = { 0 };
	struct target_identity id = { .key = "", .cgroup_dir = "/sys/fs/cgroup/x" };
	struct target_table t;

	(void)state;
	assert_int_equal(target_table_init(&t, 1, 1, 0, &fake_ops, &f), 0);
	assert_int_equal(target_table_add(&t, &id), 0);
	assert_string_equal(t.targets[0].labels, "");
	assert_int_equal(t.watched, 1);
	target_table_destroy(&t);
	assert_int_equal(f.detaches, 1);
	assert_int_equal(f.forgets, 1);
}

static void test_grace_then_free(void **state)
{
	struct fake_probes f = { .opened_per_slot = 7 };
	struct target_table t;

	(void)state;
	assert_int_equal(target_table_init(&t, 4, 2, 60, &fake_ops, &f), 0);
	assert_int_equal(add_pod(&t, "uid-a", "a"), 0);
	assert_int_equal(add_pod(&t, "uid-b", "b"), 1);
	assert_string_equal(t.targets[1].labels, "namespace=\"shop\",pod=\"b\"");
	/* The same pod twice is refused; so is a third pod beyond max_watched. */
	assert_int_equal(add_pod(&t, "uid-a", "a"), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(add_pod(&t, "uid-c", "c"), -1);
	assert_int_equal(errno, ENOSPC);

	/* Gone: detached at once, series kept. */
	target_table_gone(&t, "uid-a", 100.0);
	assert_int_equal(f.detaches, 1);
	assert_int_equal(t.targets[0].state, TARGET_GONE);
	assert_int_equal(target_table_find(&t, "uid-a"), 0);
	assert_int_equal(t.watched, 1);
	assert_int_equal(target_table_expire(&t, 159.9), 0);
	assert_int_equal(t.targets[0].state, TARGET_GONE);

	/* A new pod does not take the slot of one in its grace period. */
	assert_int_equal(add_pod(&t, "uid-c", "c"), 2);

	assert_int_equal(target_table_expire(&t, 160.0), 1);
	assert_int_equal(f.forgets, 1);
	assert_int_equal(t.targets[0].state, TARGET_FREE);
	assert_int_equal(target_table_find(&t, "uid-a"), -1);
	/* Its counters moved to `retired`: the daemon's totals keep them. */
	assert_int_equal(t.retired.connections_opened, 7);

	target_table_gone(&t, "uid-b", 170.0);
	assert_int_equal(add_pod(&t, "uid-d", "d"), 0);
	target_table_destroy(&t);
}

static void test_full_table_cuts_the_oldest_grace(void **state)
{
	struct fake_probes f = { 0 };
	struct target_table t;

	(void)state;
	assert_int_equal(target_table_init(&t, 2, 2, 60, &fake_ops, &f), 0);
	assert_int_equal(add_pod(&t, "uid-a", "a"), 0);
	assert_int_equal(add_pod(&t, "uid-b", "b"), 1);
	target_table_gone(&t, "uid-b", 10.0);
	target_table_gone(&t, "uid-a", 20.0);
	/* Both slots in grace: the pod gone first gives its slot up. */
	assert_int_equal(add_pod(&t, "uid-c", "c"), 1);
	assert_int_equal(t.evicted_early, 1);
	assert_int_equal(target_table_find(&t, "uid-b"), -1);
	assert_int_equal(target_table_find(&t, "uid-a"), 0);
	target_table_destroy(&t);
}

static void test_failed_attach_leaves_nothing(void **state)
{
	struct fake_probes f = { .fail_next_attach = 1 };
	struct target_table t;

	(void)state;
	assert_int_equal(target_table_init(&t, 2, 2, 60, &fake_ops, &f), 0);
	assert_int_equal(add_pod(&t, "uid-a", "a"), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(t.watched, 0);
	assert_int_equal(t.targets[0].state, TARGET_FREE);
	assert_int_equal(add_pod(&t, "uid-a", "a"), 0);
	target_table_destroy(&t);
}

static void test_churn_stays_in_its_slots(void **state)
{
	struct fake_probes f = { .opened_per_slot = 1 };
	struct target_table t;
	char uid[32];
	double now = 0;
	int round;

	(void)state;
	assert_int_equal(target_table_init(&t, 8, 4, 5, &fake_ops, &f), 0);
	for (round = 0; round < 5000; round++) {
		int slot;

		snprintf(uid, sizeof(uid), "uid-%d", round);
		slot = add_pod(&t, uid, uid);
		assert_in_range(slot, 0, 7);
		if (round >= 3) {
			snprintf(uid, sizeof(uid), "uid-%d", round - 3);
			target_table_gone(&t, uid, now);
		}
		now += 1.0;
		target_table_expire(&t, now);
		assert_in_range(t.watched, 1, 4);
	}
	/* 5 s of grace at one pod per second: nothing was cut short. */
	assert_int_equal(t.evicted_early, 0);
	assert_int_equal((__u64)f.forgets, t.retired.connections_opened);
	target_table_destroy(&t);
	assert_int_equal(f.attaches, 5000);
	assert_int_equal(f.detaches, 5000);
	assert_int_equal(f.forgets, 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_single_target_has_no_labels),
		cmocka_unit_test(test_grace_then_free),
		cmocka_unit_test(test_full_table_cuts_the_oldest_grace),
		cmocka_unit_test(test_failed_attach_leaves_nothing),
		cmocka_unit_test(test_churn_stays_in_its_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
