using System.Text;

namespace BRun.Diagnostics.Core.Messages;

/// <summary>One dispatched server-sent event: its type (<c>message</c> when no <c>event:</c> field came) and data.</summary>
public readonly record struct SseEvent(string Name, string Data);

/// <summary>
/// An event whose block the transcript ended inside: fields arrived, the blank line that dispatches them did not.
/// <see cref="Name"/> is null when no <c>event:</c> field had arrived; <see cref="Data"/> is null when no <c>data:</c>
/// field had arrived. <see cref="LineTerminated"/> tells whether the very last line had its line ending.
/// </summary>
public sealed record UnterminatedEvent(string? Name, string? Data, bool LineTerminated);

/// <summary>The events of a transcript, in order, and the block it ended inside, if any.</summary>
public sealed record FramedStream(IReadOnlyList<SseEvent> Events, UnterminatedEvent? Unterminated);

/// <summary>
/// Frames a transcript by the event-stream parsing rules of the WHATWG HTML standard ("Server-sent events"), the rules
/// System.Net.ServerSentEvents implements: one leading BOM is skipped; lines end in CRLF, LF or a lone CR; a line
/// starting with ':' is a comment; <c>field:value</c> loses one leading space of the value; several <c>data</c> lines
/// join with LF; a block without data dispatches nothing; <c>id</c> and <c>retry</c> are legal and carry nothing we
/// use. Where the standard discards an event the stream ended inside, this keeps it aside so the caller can judge it
/// on its content: a transcript saved without its final blank line is not the same thing as a torn event.
/// </summary>
public static class EventStreamFramer
{
    public const string DefaultEventName = "message";

    public static FramedStream Frame(string transcript)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        var events = new List<SseEvent>();
        var text = transcript.AsSpan();
        if (!text.IsEmpty && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        string? name = null;
        StringBuilder? data = null;
        var lastLineTerminated = true;
        var cutInsideFieldName = false;
        while (!text.IsEmpty)
        {
            var end = text.IndexOfAny('\r', '\n');
            ReadOnlySpan<char> line;
            if (end < 0)
            {
                line = text;
                text = [];
                lastLineTerminated = false;
            }
            else
            {
                line = text[..end];
                var terminator = text[end] == '\r' && end + 1 < text.Length && text[end + 1] == '\n' ? 2 : 1;
                text = text[(end + terminator)..];
            }

            if (line.IsEmpty)
            {
                if (data is not null)
                {
                    events.Add(new SseEvent(string.IsNullOrEmpty(name) ? DefaultEventName : name, data.ToString()));
                }

                name = null;
                data = null;
                continue;
            }

            if (line[0] == ':')
            {
                continue;
            }

            var colon = line.IndexOf(':');
            cutInsideFieldName = colon < 0 && !lastLineTerminated;
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? [] : line[(colon + 1)..];
            if (!value.IsEmpty && value[0] == ' ')
            {
                value = value[1..];
            }

            if (field.SequenceEqual("event"))
            {
                name = value.ToString();
            }
            else if (field.SequenceEqual("data"))
            {
                // The standard appends value + LF and strips the final LF at dispatch: the same as joining with LF.
                if (data is null)
                {
                    data = new StringBuilder(value.Length).Append(value);
                }
                else
                {
                    data.Append('\n').Append(value);
                }
            }

            // id, retry and unknown fields are legal and change nothing we read.
        }

        // A last line with no colon and no line ending may be a field name cut mid-way ("dat"): an event had begun.
        var unterminated = name is not null || data is not null || cutInsideFieldName
            ? new UnterminatedEvent(name, data?.ToString(), lastLineTerminated)
            : null;
        return new FramedStream(events, unterminated);
    }
}
