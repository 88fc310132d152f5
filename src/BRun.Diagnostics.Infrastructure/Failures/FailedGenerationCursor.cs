using System.Buffers.Binary;
using System.Buffers.Text;

namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>
/// Where a keyset page of failed generations (newest first) resumes: after the row with this creation time and id, so
/// page 10,000 costs what page 1 does (an offset makes the database walk every row before it). Opaque to clients:
/// base64url of a version byte, the creation time in microseconds since the Unix epoch (PostgreSQL's precision) and
/// the id. It carries no filter: the same filters must come with it, and a cursor under other filters simply
/// resumes at that point of their order.
/// </summary>
public sealed record FailedGenerationCursor(DateTime CreatedAtUtc, Guid Id)
{
    private const byte Version = 1;
    private const int Length = 1 + 8 + 16;

    /// <summary>The cursor after <paramref name="row"/>.</summary>
    public static FailedGenerationCursor After(FailedGenerationSummary row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new FailedGenerationCursor(DateTime.SpecifyKind(row.CreatedAt, DateTimeKind.Utc), row.Id);
    }

    public string Encode()
    {
        Span<byte> bytes = stackalloc byte[Length];
        bytes[0] = Version;
        BinaryPrimitives.WriteInt64BigEndian(bytes[1..], (CreatedAtUtc.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond);
        Id.TryWriteBytes(bytes[9..], bigEndian: true, out _);
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>The cursor <paramref name="text"/> encodes, or null when it is not one this version wrote.</summary>
    public static FailedGenerationCursor? Decode(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > 64)
        {
            return null;
        }

        Span<byte> bytes = stackalloc byte[48];
        if (!Base64Url.IsValid(text) || Base64Url.DecodeFromChars(text, bytes) is not Length || bytes[0] != Version)
        {
            return null;
        }

        var micros = BinaryPrimitives.ReadInt64BigEndian(bytes[1..]);
        var minMicros = (DateTime.MinValue.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond;
        var maxMicros = (DateTime.MaxValue.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond;
        if (micros < minMicros || micros > maxMicros)
        {
            return null;
        }

        var at = new DateTime(DateTime.UnixEpoch.Ticks + (micros * TimeSpan.TicksPerMicrosecond), DateTimeKind.Utc);
        return new FailedGenerationCursor(at, new Guid(bytes[9..Length], bigEndian: true));
    }
}
