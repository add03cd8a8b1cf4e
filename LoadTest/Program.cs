using LoadTest.Cli;

// LoadTest: the KServe v2 load generator (sweep by default, `scenario` for Locust-style users) and the bare
// Kestrel peer the benchmarks compare against. Progress goes to stderr, CSV rows to stdout.
var root = SweepCommand.Create();
root.Subcommands.Add(ScenarioCommand.Create());
root.Subcommands.Add(BareServerCommand.Create());
return await root.Parse(args).InvokeAsync();
