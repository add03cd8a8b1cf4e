using System.CommandLine;

namespace LoadTest.Cli;

/// <summary><c>bare-server --port P [--grpc-port G]</c>: the bare Kestrel echo peer of the HTTP benchmarks and, with a
/// gRPC port, the bare Grpc.AspNetCore peer of the gRPC ones.</summary>
public static class BareServerCommand
{
    public static Command Create()
    {
        var bare = new Command("bare-server", "Run the bare Kestrel echo peer (POST /echo) used as the HTTP baseline");
        var port = new Option<int>("--port") { DefaultValueFactory = _ => 9000 };
        var grpcPort = new Option<int?>("--grpc-port") { Description = "Also serve a bare ModelInfer/ModelStreamInfer (FP32 [1,1000] reply) on this h2c port" };
        bare.Options.Add(port);
        bare.Options.Add(grpcPort);
        bare.SetAction(async (parse, ct) =>
        {
            await BareServer.RunAsync(parse.GetValue(port), parse.GetValue(grpcPort), ct);
            return 0;
        });
        return bare;
    }
}
