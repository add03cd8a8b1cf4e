namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// Gathers the requests' bytes of one input into a contiguous host buffer (the pinned staging buffer of a GPU
/// instance), in order. A large batch (a batch of 256 ResNet-50 images is 154 MB of FP32) is copied by several
/// threads at once, in pieces of at most <see cref="PieceBytes"/>, and handed over in a few segments, so that the
/// caller can start each segment's copy to the device while the next segment is still being gathered. A small batch
/// is copied on the calling thread. The piece list is kept between batches: no allocation in steady state beyond
/// the parallel loop's own bookkeeping. Not thread-safe: owned by one instance.
/// </summary>
internal sealed unsafe class BatchGatherer
{
    /// <summary>At and above this many bytes, copies run in parallel.</summary>
    public const long ParallelThreshold = 4L << 20;

    /// <summary>The most bytes one parallel work item copies.</summary>
    public const int PieceBytes = 1 << 20;

    /// <summary>Segments handed to the caller for a parallel gather (each after all its pieces are copied).</summary>
    public const int Segments = 4;

    private readonly List<Piece> _pieces = [];
    private readonly ParallelOptions _parallel;
    private readonly Action<int> _copyPiece;
    private byte* _destination;
    private long _bytes;

    /// <param name="maxDegreeOfParallelism">Threads a parallel gather may use (default: the processor count).</param>
    public BatchGatherer(int maxDegreeOfParallelism = 0)
    {
        _parallel = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism > 0 ? maxDegreeOfParallelism : Environment.ProcessorCount };
        _copyPiece = CopyPiece;
    }

    /// <summary>Bytes added since <see cref="Clear"/>.</summary>
    public long Bytes => _bytes;

    /// <summary>Forgets the previous batch's sources.</summary>
    public void Clear()
    {
        _pieces.Clear();
        _bytes = 0;
    }

    /// <summary>Appends <paramref name="source"/> after the bytes added so far.</summary>
    public void Add(ReadOnlyMemory<byte> source)
    {
        for (var offset = 0; offset < source.Length; offset += PieceBytes)
        {
            var length = Math.Min(PieceBytes, source.Length - offset);
            _pieces.Add(new Piece(source.Slice(offset, length), _bytes + offset));
        }
        _bytes += source.Length;
    }

    /// <summary>
    /// Copies everything added into <paramref name="destination"/> (at least <see cref="Bytes"/> long) and calls
    /// <paramref name="segmentReady"/>(offset, length) for consecutive segments covering [0, <see cref="Bytes"/>) in
    /// order, each once its bytes are in place (one segment when the gather ran on the calling thread).
    /// </summary>
    public void CopyTo(byte* destination, Action<long, long>? segmentReady = null)
    {
        _destination = destination;
        try
        {
            if (_bytes < ParallelThreshold || _parallel.MaxDegreeOfParallelism == 1)
            {
                for (var i = 0; i < _pieces.Count; i++)
                {
                    CopyPiece(i);
                }
                if (_bytes > 0)
                {
                    segmentReady?.Invoke(0, _bytes);
                }
                return;
            }
            var first = 0;
            long segmentStart = 0;
            for (var s = 1; s <= Segments && first < _pieces.Count; s++)
            {
                // The segment ends at the first piece boundary at or after s/Segments of the bytes.
                var target = _bytes * s / Segments;
                var last = first;
                while (last < _pieces.Count && _pieces[last].Offset < target)
                {
                    last++;
                }
                if (s == Segments)
                {
                    last = _pieces.Count;
                }
                if (last == first)
                {
                    continue;
                }
                Parallel.For(first, last, _parallel, _copyPiece);
                var segmentEnd = last == _pieces.Count ? _bytes : _pieces[last].Offset;
                segmentReady?.Invoke(segmentStart, segmentEnd - segmentStart);
                segmentStart = segmentEnd;
                first = last;
            }
        }
        finally
        {
            _destination = null;
        }
    }

    private void CopyPiece(int i)
    {
        var piece = _pieces[i];
        piece.Source.Span.CopyTo(new Span<byte>(_destination + piece.Offset, piece.Source.Length));
    }

    private readonly record struct Piece(ReadOnlyMemory<byte> Source, long Offset);
}
