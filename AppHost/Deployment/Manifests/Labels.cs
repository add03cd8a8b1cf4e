using k8s.Models;

namespace AspireInference.AppHost.Deployment.Manifests;

/// <summary>The recommended labels (<c>app.kubernetes.io/*</c>) every object carries, and object metadata.</summary>
internal static class Labels
{
    public const string Name = "app.kubernetes.io/name";
    public const string PartOf = "app.kubernetes.io/part-of";
    public const string Component = "app.kubernetes.io/component";
    public const string ManagedBy = "app.kubernetes.io/managed-by";
    public const string System = "aspire-inference";

    /// <summary>The labels a selector matches for <paramref name="app"/>: stable across releases (selectors are immutable).</summary>
    public static Dictionary<string, string> Selector(string app) => new() { [Name] = app, [PartOf] = System };

    public static Dictionary<string, string> Of(string app, string component) =>
        new(Selector(app)) { [Component] = component, [ManagedBy] = "aspire-apphost" };

    public static V1ObjectMeta Metadata(string name, string? @namespace, string app, string component,
        IDictionary<string, string>? annotations = null) =>
        new() { Name = name, NamespaceProperty = @namespace, Labels = Of(app, component), Annotations = annotations };
}
