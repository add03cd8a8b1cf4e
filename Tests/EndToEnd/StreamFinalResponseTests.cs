using Grpc.Core;
using Inference.Server.Protos;

namespace Inference.Tests.EndToEnd;

/// <summary>ModelStreamInfer replies as Triton's: each carries <c>triton_final_response</c>; the reserved request
/// parameter <c>triton_enable_empty_final_response</c> is accepted as a bool (no model here is decoupled, so the one
/// response per request is the final one and no empty response follows), and other <c>triton_</c> keys are refused.</summary>
public sealed class StreamFinalResponseTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EveryReply_IsMarkedFinal_WithOrWithoutEmptyFinalResponses()
    {
        using var stream = fixture.Server.Grpc.ModelStreamInfer(cancellationToken: Ct);
        var plain = Request("plain");
        var enabled = Request("enabled");
        enabled.Parameters["triton_enable_empty_final_response"] = new InferParameter { BoolParam = true };
        var failing = Request("failing");
        failing.ModelName = "no_such_model";
        foreach (var r in new[] { plain, enabled, failing })
        {
            await stream.RequestStream.WriteAsync(r, Ct);
        }
        await stream.RequestStream.CompleteAsync();

        var replies = new List<ModelStreamInferResponse>();
        await foreach (var reply in stream.ResponseStream.ReadAllAsync(Ct))
        {
            replies.Add(reply);
        }

        Assert.Equal(3, replies.Count);
        Assert.All(replies, r => Assert.True(r.InferResponse.Parameters["triton_final_response"].BoolParam));
        var byId = replies.ToDictionary(r => r.InferResponse.Id);
        Assert.Equal("", byId["plain"].ErrorMessage);
        Assert.Equal("", byId["enabled"].ErrorMessage);
        Assert.Single(byId["enabled"].InferResponse.Outputs);
        Assert.NotEqual("", byId["failing"].ErrorMessage);
    }

    [Fact]
    public async Task ReservedParameters_AreCheckedAsTriton()
    {
        using var stream = fixture.Server.Grpc.ModelStreamInfer(cancellationToken: Ct);
        var wrongType = Request("wrong-type");
        wrongType.Parameters["triton_enable_empty_final_response"] = new InferParameter { StringParam = "true" };
        var unknown = Request("unknown");
        unknown.Parameters["triton_something"] = new InferParameter { BoolParam = true };
        await stream.RequestStream.WriteAsync(wrongType, Ct);
        await stream.RequestStream.WriteAsync(unknown, Ct);
        await stream.RequestStream.CompleteAsync();

        var replies = new List<ModelStreamInferResponse>();
        await foreach (var reply in stream.ResponseStream.ReadAllAsync(Ct))
        {
            replies.Add(reply);
        }

        var byId = replies.ToDictionary(r => r.InferResponse.Id);
        Assert.Equal("invalid value type for 'triton_enable_empty_final_response' parameter, expected bool_param.", byId["wrong-type"].ErrorMessage);
        Assert.StartsWith("parameter keys starting with 'triton_' are reserved for Triton usage.", byId["unknown"].ErrorMessage);
        Assert.All(replies, r => Assert.True(r.InferResponse.Parameters["triton_final_response"].BoolParam));

        var unary = await Assert.ThrowsAsync<RpcException>(() => fixture.Server.Grpc.ModelInferAsync(unknown, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, unary.StatusCode);
    }

    private static ModelInferRequest Request(string id) =>
        E2E.RawRequest("identity", "INPUT0", [1, 16], Kserve.RandomFloats(16, seed: id.Length), "OUTPUT0", id: id);
}
