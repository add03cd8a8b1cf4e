using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

/// <summary>
/// A resource that cannot run on this machine (a container with no container runtime, an executable that is not
/// installed), shown for what it is: the dashboard lists it as FailedToStart with <see cref="Reason"/> in its
/// properties and console log, and the AppHost's own output says it once, instead of a resource that waits forever.
/// </summary>
internal sealed class UnavailableResource(string name, string reason) : Resource(name)
{
    /// <summary>Why it cannot run, and what to do about it.</summary>
    public string Reason { get; } = reason;
}

internal static class UnavailableResourceExtensions
{
    /// <summary>Adds <paramref name="name"/> as an <see cref="UnavailableResource"/> of <paramref name="resourceType"/>
    /// (the kind it would have been: Container, Executable).</summary>
    public static IResourceBuilder<UnavailableResource> AddUnavailable(
        this IDistributedApplicationBuilder builder, string name, string resourceType, string reason)
    {
        var resource = builder.AddResource(new UnavailableResource(name, reason))
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = resourceType,
                State = new ResourceStateSnapshot(KnownResourceStates.FailedToStart, KnownResourceStateStyles.Error),
                Properties = [new ResourcePropertySnapshot("reason", reason)],
            })
            .ExcludeFromManifest();
        builder.Eventing.Subscribe<BeforeStartEvent>((e, _) =>
        {
            e.Services.GetRequiredService<ResourceLoggerService>().GetLogger(resource.Resource).LogError("{Reason}", reason);
            e.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AspireInference.AppHost")
                .LogWarning("{Resource} is not started: {Reason}", name, reason);
            return Task.CompletedTask;
        });
        return resource;
    }
}
