using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;

namespace Inference.Server.Hosting;

/// <summary>
/// A gRPC request body reader that checks each message's 5-byte length prefix as the bytes pass and fails a message
/// declaring more than the limit with RESOURCE_EXHAUSTED before gRPC reads it. Grpc.AspNetCore does this itself only
/// up to 2 GiB: a prefix of 2^31 or more overflows its length and the call ends as UNKNOWN "Exception was thrown by
/// handler." (found by bench/reliability). The scan touches only the prefixes: the message bytes between them are
/// skipped by count, so the hot path pays a subtraction per read.
/// </summary>
internal sealed class GrpcFrameLengthGuard : PipeReader
{
    private const int PrefixLength = 5;

    private readonly PipeReader _inner;
    private readonly long _maxMessageBytes;

    // Scan state. _bodyLeft: bytes of the current message still to pass; _prefixHave/_prefix: the next prefix's bytes
    // seen so far. _scanned: bytes of the last buffer (from its start) already scanned; AdvanceTo moves it back by what
    // was consumed, so bytes handed out again are not scanned twice.
    private long _bodyLeft;
    private int _prefixHave;
    private readonly byte[] _prefix = new byte[PrefixLength];
    private long _scanned;
    private ReadOnlySequence<byte> _last;

    private GrpcFrameLengthGuard(PipeReader inner, long maxMessageBytes)
    {
        _inner = inner;
        _maxMessageBytes = maxMessageBytes;
    }

    /// <summary>Puts the guard in front of <paramref name="features"/>' request body.</summary>
    public static void Install(IFeatureCollection features, long maxMessageBytes)
    {
        if (features.Get<IRequestBodyPipeFeature>() is { } body)
        {
            features.Set<IRequestBodyPipeFeature>(new Feature(new GrpcFrameLengthGuard(body.Reader, maxMessageBytes)));
        }
    }

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var result = await _inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        Scan(result.Buffer);
        return result;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (!_inner.TryRead(out result))
        {
            return false;
        }
        Scan(result.Buffer);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        _scanned -= _last.Slice(_last.Start, consumed).Length;
        _last = default;
        _inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => _inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => _inner.Complete(exception);

    private void Scan(ReadOnlySequence<byte> buffer)
    {
        _last = buffer;
        var fresh = buffer.Slice(Math.Min(_scanned, buffer.Length));
        _scanned = buffer.Length;
        foreach (var segment in fresh)
        {
            var span = segment.Span;
            while (span.Length > 0)
            {
                if (_bodyLeft > 0)
                {
                    var skip = (int)Math.Min(_bodyLeft, span.Length);
                    _bodyLeft -= skip;
                    span = span[skip..];
                    continue;
                }
                var take = Math.Min(PrefixLength - _prefixHave, span.Length);
                span[..take].CopyTo(_prefix.AsSpan(_prefixHave));
                _prefixHave += take;
                span = span[take..];
                if (_prefixHave == PrefixLength)
                {
                    _prefixHave = 0;
                    _bodyLeft = BinaryPrimitives.ReadUInt32BigEndian(_prefix.AsSpan(1));
                    if (_bodyLeft > _maxMessageBytes)
                    {
                        throw new RpcException(new Status(StatusCode.ResourceExhausted,
                            $"Received message exceeds the maximum configured message size ({_bodyLeft} > {_maxMessageBytes} bytes)."));
                    }
                }
            }
        }
    }

    private sealed class Feature(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader { get; } = reader;
    }
}
