using LoadTest.Cli;

// LoadTest: the KServe v2 load generator (sweep by default, `scenario` for Locust-style users) and the bare
// Kestrel peer the benchmarks compare against. Progress goes to stderr, CSV rows to stdout.
// SIGINT/SIGTERM: the partial report is written and the exit code is 130/143.
return await LoadTestCommand.RunProcessAsync(args, TimeSpan.FromSeconds(5));
