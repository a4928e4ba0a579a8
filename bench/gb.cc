// SPDX-License-Identifier: MIT
// The C++ behind gb.h: the only C++ in the project.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
/* GCC 12's -Wmaybe-uninitialized misfires inside <regex> under -fsanitize (std::function). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#pragma GCC diagnostic pop
#include <sstream>
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

extern "C" void gb_bench_iterations(struct gb_bench *b, int64_t n)
{
	reinterpret_cast<benchmark::internal::Benchmark *>(b)->Iterations(n);
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

/*
 * The console table and the JSON in one reporter.  google-benchmark would
 * open --benchmark_out by its path (following a link, truncating what it
 * finds); we keep the JSON in memory for the caller, who creates the file
 * safely.  What the library says about the filter goes to
 * our error stream, so that the caller says it in one line.
 */
class tee : public benchmark::BenchmarkReporter
{
      public:
	tee(benchmark::BenchmarkReporter &a, benchmark::BenchmarkReporter &b) : a_(a), b_(b)
	{
	}
	bool ReportContext(const Context &c) override
	{
		b_.ReportContext(c);
		return a_.ReportContext(c);
	}
	/*
	 * The console (a_) shows a cell's aggregates only, where it has them
	 * (repetitions >= 2: they follow its repetitions); the JSON (b_) keeps
	 * every repetition too, for --compare's rank test.  The library's
	 * --benchmark_display_aggregates_only would hide them from both, as
	 * both sit behind the one display reporter.
	 */
	void ReportRuns(const std::vector<Run> &runs) override
	{
		std::vector<Run> shown;

		for (const auto &r : runs)
			if (r.run_type == Run::RT_Aggregate || r.repetitions < 2)
				shown.push_back(r);
		if (!shown.empty())
			a_.ReportRuns(shown);
		b_.ReportRuns(runs);
	}
	void Finalize() override
	{
		a_.Finalize();
		b_.Finalize();
	}

      private:
	benchmark::BenchmarkReporter &a_, &b_;
};

extern "C" int gb_run(char **json, uint64_t *ran, char *err, size_t len)
{
	plain_names<benchmark::ConsoleReporter, true> display(
		isatty(1) ? benchmark::ConsoleReporter::OO_Color
			  : benchmark::ConsoleReporter::OO_None);
	plain_names<benchmark::JSONReporter, false> file;
	std::ostringstream json_text, errors;
	tee both(display, file);
	std::string first, text;

	file.SetOutputStream(&json_text);
	file.SetErrorStream(&errors);
	both.SetErrorStream(&errors);
	*ran = benchmark::RunSpecifiedBenchmarks(&both);
	std::getline(std::istringstream(errors.str()), first);
	snprintf(err, len, "%s", first.c_str());
	text = json_text.str();
	*json = static_cast<char *>(malloc(text.size() + 1));
	if (!*json)
		return -ENOMEM;
	memcpy(*json, text.c_str(), text.size() + 1);
	return 0;
}

extern "C" int gb_filter_match(const char *spec, const char *name, char *err, size_t len)
{
	std::string re = spec, full = std::string(name) + "/manual_time";
	bool negative = !re.empty() && re[0] == '-';

	/* As benchmark::RunSpecifiedBenchmarks and FindBenchmarksInternal in 1.7.1. */
	if (re.empty() || re == "all")
		re = ".";
	if (negative)
		re.erase(0, 1);
	try {
		std::regex r(re, std::regex_constants::extended);

		return std::regex_search(full, r) != negative;
	} catch (const std::regex_error &e) {
		snprintf(err, len, "%s", e.what());
		return -EINVAL;
	}
}

extern "C" void gb_shutdown(void)
{
	benchmark::Shutdown();
}
