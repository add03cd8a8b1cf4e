namespace LoadTest.Reliability;

/// <summary>One category of the suite: runs its checks against the server and records them in the report.</summary>
public interface IReliabilityCategory
{
    /// <summary>The name on its result line (one of <see cref="ReliabilityOptions.AllCategories"/>).</summary>
    string Name { get; }

    Task RunAsync(SuiteContext context, CategoryReport report, CancellationToken cancellationToken);
}
