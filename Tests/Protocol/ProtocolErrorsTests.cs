using Grpc.Core;
using Inference.Server.Core;
using Inference.Server.Protocol;

namespace Inference.Tests.Protocol;

public class ProtocolErrorsTests
{
    [Theory]
    [InlineData(ErrorCode.InvalidArgument, 400, StatusCode.InvalidArgument)]
    [InlineData(ErrorCode.NotFound, 404, StatusCode.NotFound)]
    [InlineData(ErrorCode.NotReady, 503, StatusCode.Unavailable)]
    [InlineData(ErrorCode.Unavailable, 503, StatusCode.Unavailable)]
    [InlineData(ErrorCode.Timeout, 503, StatusCode.Unavailable)]
    [InlineData(ErrorCode.Cancelled, 400, StatusCode.Cancelled)]
    [InlineData(ErrorCode.Unsupported, 501, StatusCode.Unimplemented)]
    [InlineData(ErrorCode.Internal, 500, StatusCode.Internal)]
    [InlineData(ErrorCode.AlreadyExists, 400, StatusCode.AlreadyExists)]
    public void EveryErrorCode_MapsToTritonsHttpStatusAndGrpcCode(ErrorCode code, int http, StatusCode grpc)
    {
        Assert.Equal(http, ProtocolErrors.ToHttpStatus(code));
        Assert.Equal(grpc, ProtocolErrors.ToGrpcStatusCode(code));
    }

    [Fact]
    public void ToRpcException_CarriesCodeAndMessage()
    {
        var e = ProtocolErrors.ToRpcException(new InferenceError(ErrorCode.NotFound, "no model 'x'"));

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Equal("no model 'x'", e.Status.Detail);
    }
}
