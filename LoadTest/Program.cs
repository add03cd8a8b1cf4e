using LoadTest.Cli;

// LoadTest: the KServe v2 load generator (sweep by default, `scenario` for Locust-style users) and the bare
// Kestrel peer the benchmarks compare against. Progress goes to stderr, CSV rows to stdout.
return await LoadTestCommand.RunAsync(args);
