using Inference.Server.Protos;

namespace Inference.Server.Repository;

/// <summary>Applies Triton's version policy to the versions found on disk. Thread-safe.</summary>
public static class VersionPolicySelector
{
    /// <summary>
    /// The versions to load, ascending: latest(n) takes the n highest available (default policy: latest 1),
    /// all takes every one, specific takes the listed ones that are available. <paramref name="missing"/>
    /// receives the versions a specific policy lists that are not on disk (Triton reports them as errors).
    /// </summary>
    public static IReadOnlyList<long> Select(ModelVersionPolicy? policy, IEnumerable<long> available, out IReadOnlyList<long> missing)
    {
        var sorted = available.Distinct().Order().ToArray();
        missing = [];
        switch (policy?.PolicyChoiceCase ?? ModelVersionPolicy.PolicyChoiceOneofCase.None)
        {
            case ModelVersionPolicy.PolicyChoiceOneofCase.All:
                return sorted;
            case ModelVersionPolicy.PolicyChoiceOneofCase.Specific:
                {
                    var wanted = policy!.Specific.Versions.Distinct().Order().ToArray();
                    missing = [.. wanted.Where(v => Array.BinarySearch(sorted, v) < 0)];
                    return [.. wanted.Where(v => Array.BinarySearch(sorted, v) >= 0)];
                }
            default:
                {
                    int n = (int)Math.Min(Math.Max(policy?.Latest?.NumVersions ?? 1, 1), int.MaxValue);
                    return sorted[Math.Max(0, sorted.Length - n)..];
                }
        }
    }
}
