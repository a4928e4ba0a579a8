// SPDX-License-Identifier: MIT
// The C++ behind gb.h: the only C++ in the project.
#include <cerrno>
#include <cstring>
#include <iostream>
#include <vector>

#include <unistd.h>

#include <benchmark/benchmark.h>

#include "gb.h"

static benchmark::State &st(struct gb_state *s)
{
	return *reinterpret_cast<benchmark::State *>(s);
}

extern "C" int gb_init(int *argc, char **argv, const char **bad)
{
	/* Its own complaint about a bad value would be a second line; ours names the flag. */
	std::streambuf *err = std::cerr.rdbuf(nullptr);

	benchmark::Initialize(argc, argv);
	std::cerr.rdbuf(err);
	std::cerr.clear();
	for (int i = 1; i < *argc; i++) {
		if (std::strncmp(argv[i], "--benchmark", 11) == 0) {
			if (bad)
				*bad = argv[i];
			return -EINVAL;
		}
	}
	return 0;
}

extern "C" struct gb_bench *gb_register(const char *name, gb_fn fn, void *arg)
{
	benchmark::internal::Benchmark *b =
		benchmark::RegisterBenchmark(name, [fn, arg](benchmark::State &state) {
			fn(reinterpret_cast<struct gb_state *>(&state), arg);
		});
	if (!b)
		return nullptr;
	b->UseManualTime()->Unit(benchmark::kNanosecond);
	return reinterpret_cast<struct gb_bench *>(b);
}

extern "C" void gb_bench_repetitions(struct gb_bench *b, int n)
{
	reinterpret_cast<benchmark::internal::Benchmark *>(b)->Repetitions(n);
}

extern "C" void gb_bench_min_time(struct gb_bench *b, double seconds)
{
	reinterpret_cast<benchmark::internal::Benchmark *>(b)->MinTime(seconds);
}

extern "C" int64_t gb_max_iterations(const struct gb_state *s)
{
	return reinterpret_cast<const benchmark::State *>(s)->max_iterations;
}

extern "C" bool gb_keep_running(struct gb_state *s)
{
	return st(s).KeepRunning();
}

extern "C" void gb_set_iteration_time(struct gb_state *s, double seconds)
{
	st(s).SetIterationTime(seconds);
}

extern "C" void gb_run_measured(struct gb_state *s, double seconds)
{
	benchmark::State &state = st(s);
	double per = seconds / static_cast<double>(state.max_iterations);

	for (auto _ : state)
		state.SetIterationTime(per);
}

extern "C" void gb_set_items_processed(struct gb_state *s, int64_t items)
{
	st(s).SetItemsProcessed(items);
}

extern "C" void gb_set_bytes_processed(struct gb_state *s, int64_t bytes)
{
	st(s).SetBytesProcessed(bytes);
}

extern "C" void gb_counter(struct gb_state *s, const char *name, double value)
{
	st(s).counters[name] = benchmark::Counter(value);
}

extern "C" void gb_skip(struct gb_state *s, const char *reason)
{
	benchmark::State &state = st(s);

	/*
	 * Skip from inside the loop: the run then reports the iteration count
	 * it was given (a skip before the loop reports 0), and 1.7.1's
	 * ComputeStats aborts when the repetitions of one benchmark differ in
	 * iterations, as they would when Ctrl-C skips the last ones.
	 */
	while (state.KeepRunning())
		state.SkipWithError(reason);
}

/*
 * UseManualTime() appends "/manual_time" to every name; our names are
 * exactly mode/backend/size/PxC/placement, so the reporters drop it.
 * With @hide_skips, runs that ended in gb_skip() are left out: the console
 * would show each skipped cell once per repetition (a full profile skips
 * hundreds); the caller says what was skipped or failed after the run.
 */
template <class R, bool hide_skips> class plain_names : public R
{
      public:
	using R::R;
	void ReportRuns(const std::vector<benchmark::BenchmarkReporter::Run> &runs) override
	{
		std::vector<benchmark::BenchmarkReporter::Run> copy;

		for (auto r : runs) {
			if (hide_skips && r.error_occurred)
				continue;
			r.run_name.time_type.clear();
			copy.push_back(r);
		}
		if (!copy.empty())
			R::ReportRuns(copy);
	}
};

extern "C" uint64_t gb_run(bool json_file)
{
	plain_names<benchmark::ConsoleReporter, true> display(
		isatty(1) ? benchmark::ConsoleReporter::OO_Color
			  : benchmark::ConsoleReporter::OO_None);
	plain_names<benchmark::JSONReporter, false> file;

	if (json_file)
		return benchmark::RunSpecifiedBenchmarks(&display, &file);
	return benchmark::RunSpecifiedBenchmarks(&display);
}

extern "C" void gb_shutdown(void)
{
	benchmark::Shutdown();
}
