namespace Inference.Tests.Protocol;

/// <summary>One loopback host per test class (tests within a class run one at a time).</summary>
public sealed class ProtocolHostFixture : IAsyncLifetime
{
    private ProtocolTestHost? _host;

    internal ProtocolTestHost Host => _host ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync() => _host = await ProtocolTestHost.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
