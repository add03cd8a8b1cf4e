namespace Inference.Server.Scheduling;

/// <summary>
/// An intrusive FIFO of <see cref="QueuedRequest"/> with O(1) removal from anywhere (for cancellation and
/// timeouts). Not thread-safe: guarded by the scheduler's lock.
/// </summary>
internal sealed class RequestList
{
    public QueuedRequest? First { get; private set; }

    public QueuedRequest? Last { get; private set; }

    public int Count { get; private set; }

    public void AddLast(QueuedRequest node)
    {
        node.List = this;
        node.Prev = Last;
        node.Next = null;
        if (Last is null)
        {
            First = node;
        }
        else
        {
            Last.Next = node;
        }
        Last = node;
        Count++;
    }

    public void Remove(QueuedRequest node)
    {
        if (node.Prev is null)
        {
            First = node.Next;
        }
        else
        {
            node.Prev.Next = node.Next;
        }
        if (node.Next is null)
        {
            Last = node.Prev;
        }
        else
        {
            node.Next.Prev = node.Prev;
        }
        node.List = null;
        node.Prev = null;
        node.Next = null;
        Count--;
    }
}
