namespace LoadTest.Reliability;

/// <summary>The reports of the categories that ran, in order, with the run's metadata.</summary>
public sealed record SuiteResult(IReadOnlyList<CategoryReport> Categories, DateTime StartedUtc, TimeSpan Elapsed, string Form, ServerControlMode Mode)
{
    public long Passed => Categories.Sum(c => c.Passed);

    public long Failed => Categories.Sum(c => c.Failed);

    public bool AllPassed => Failed == 0;

    public CategoryReport? this[string name] => Categories.FirstOrDefault(c => c.Name == name);

    /// <summary>The last line: <c>N passed, M failed</c>.</summary>
    public string Summary => $"{Passed} passed, {Failed} failed";
}
