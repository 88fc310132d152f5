namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>
/// A write-only stream over a destination that forbids synchronous writes (an ASP.NET Core response body).
/// ZipArchive in .NET 10, even through its async API, still writes some headers synchronously when the target cannot
/// seek (an entry's data descriptor on dispose, the central directory). Those synchronous writes are held here and
/// handed on asynchronously by the next <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/> or
/// <see cref="DrainAsync"/>; the caller drains after each entry, so what is held stays at a few headers.
/// </summary>
internal sealed class AsyncDrainingWriteStream(Stream destination) : Stream
{
    // Past this, a drained buffer is dropped rather than kept for reuse (the central directory can be megabytes).
    private const int KeepCapacity = 64 * 1024;

    private MemoryStream _pending = new();
    private long _written;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    /// <summary>Bytes accepted so far (ZipArchive asks where it is while it writes headers).</summary>
    public override long Position
    {
        get => _written;
        set => throw new NotSupportedException();
    }

    /// <summary>Bytes held, waiting for the next asynchronous write.</summary>
    public long PendingBytes => _pending.Length;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _pending.Write(buffer);
        _written += buffer.Length;
    }

    public override void WriteByte(byte value) => Write([value]);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await DrainAsync(cancellationToken).ConfigureAwait(false);
        await destination.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        _written += buffer.Length;
    }

    /// <summary>Hands the held bytes to the destination, in order.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        if (_pending.Length == 0)
        {
            return;
        }

        await destination.WriteAsync(_pending.GetBuffer().AsMemory(0, (int)_pending.Length), cancellationToken).ConfigureAwait(false);
        if (_pending.Capacity > KeepCapacity)
        {
            _pending = new MemoryStream();
        }
        else
        {
            _pending.SetLength(0);
        }
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await DrainAsync(cancellationToken).ConfigureAwait(false);
        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    // A synchronous flush cannot reach the destination; the bytes stay held until the next drain.
    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
