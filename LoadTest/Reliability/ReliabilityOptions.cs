namespace LoadTest.Reliability;

/// <summary>The model control mode the server runs in, as the suite sees it (it decides which fault and security
/// checks can run).</summary>
public enum ServerControlMode
{
    /// <summary>Not known: detected at start (an unload of an absent name, which changes nothing on the server).</summary>
    Unknown,
    None,
    Explicit,
    Poll,
}

/// <summary>
/// What the reliability suite runs against and how hard: the server's endpoints (loopback), the models it uses,
/// the optional server process id (memory, threads and file descriptors from /proc) and repository folder (fault
/// and security checks that write model files), and the size of each category (<see cref="Long"/> or short).
/// </summary>
public sealed record ReliabilityOptions
{
    /// <summary>The categories, in the order they run. <c>drain</c> ends the server, so it runs only when asked for.</summary>
    public static readonly IReadOnlyList<string> AllCategories = ["bad-input", "fuzz", "overload", "faults", "security", "soak", "drain"];

    /// <summary>KServe v2 HTTP endpoint (port 8000 by default).</summary>
    public required Uri HttpUrl { get; init; }

    /// <summary>KServe v2 gRPC endpoint (port 8001 by default).</summary>
    public required Uri GrpcUrl { get; init; }

    /// <summary>The long form: 100,000 fuzzed requests, a minute of overload, a 10-minute soak. Otherwise the short
    /// form (5,000 fuzzed requests, 10 s of overload, a 30 s soak).</summary>
    public bool Long { get; init; }

    /// <summary>The server's process id, for RSS, threads and open file descriptors (/proc/PID); null: those figures
    /// are not measured and the checks that need them are skipped.</summary>
    public int? ServerPid { get; init; }

    /// <summary>The server's model repository folder (same machine). Needed by the checks that write model files
    /// (corrupt loads, broken reloads, poll-mode deletion, files outside the repository); null: they are skipped.</summary>
    public string? Repository { get; init; }

    /// <summary>A cheap model with numeric inputs, ready: the good requests, bad inputs, fuzz seeds and the soak.</summary>
    public string Model { get; init; } = "identity";

    /// <summary>A model whose dynamic_batching default_queue_policy has a bounded max_queue_size, slow enough that
    /// the queue fills: the overload category.</summary>
    public string OverloadModel { get; init; } = "overload";

    /// <summary>The server's --max-request-body-bytes (oversize bodies are one byte over it).</summary>
    public long MaxBodyBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>The server's control mode; <see cref="ServerControlMode.Unknown"/>: detected.</summary>
    public ServerControlMode ControlMode { get; init; } = ServerControlMode.Unknown;

    /// <summary>The categories to run (names of <see cref="AllCategories"/>); empty: all but <c>drain</c>.</summary>
    public IReadOnlyList<string> Categories { get; init; } = [];

    /// <summary>Fuzzed requests; null: 100,000 (long) or 5,000 (short).</summary>
    public int? FuzzCount { get; init; }

    /// <summary>Soak length; null: 10 minutes (long) or 30 s (short).</summary>
    public TimeSpan? SoakDuration { get; init; }

    /// <summary>Overload length; null: 60 s (long) or 10 s (short).</summary>
    public TimeSpan? OverloadDuration { get; init; }

    /// <summary>How long one request may take before it counts as a hang (lost).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long poll-mode checks wait for the server to notice a change on disk.</summary>
    public TimeSpan PollWait { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Seed of the fuzzer and of random data.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Folder for results.csv and summary.md; null: none written.</summary>
    public string? OutputDirectory { get; init; }

    public int EffectiveFuzzCount => FuzzCount ?? (Long ? 100_000 : 5_000);

    public TimeSpan EffectiveSoakDuration => SoakDuration ?? (Long ? TimeSpan.FromMinutes(10) : TimeSpan.FromSeconds(30));

    public TimeSpan EffectiveOverloadDuration => OverloadDuration ?? (Long ? TimeSpan.FromSeconds(60) : TimeSpan.FromSeconds(10));

    /// <summary>The categories that will run, in order.</summary>
    public IReadOnlyList<string> SelectedCategories => Categories.Count == 0
        ? [.. AllCategories.Where(c => c != "drain")]
        : [.. AllCategories.Where(Categories.Contains)];
}
