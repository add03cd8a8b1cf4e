using System.CommandLine;

namespace LoadTest.Cli;

/// <summary><c>bare-server --port P</c>: the bare Kestrel echo peer of the HTTP benchmarks.</summary>
public static class BareServerCommand
{
    public static Command Create()
    {
        var bare = new Command("bare-server", "Run the bare Kestrel echo peer (POST /echo) used as the HTTP baseline");
        var port = new Option<int>("--port") { DefaultValueFactory = _ => 9000 };
        bare.Options.Add(port);
        bare.SetAction(async (parse, ct) =>
        {
            await BareServer.RunAsync(parse.GetValue(port), ct);
            return 0;
        });
        return bare;
    }
}
