using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Core.Validation;

/// <summary>A response read back from a file: what it parsed into and whether it was a stream.</summary>
public sealed record SavedResponse(ParsedMessage Parsed, bool Streamed);

/// <summary>
/// Tells a saved Messages API body from a saved SSE transcript and parses it. A file is a transcript when its
/// name ends in <c>.sse</c> or its text starts like one (<c>event:</c>, <c>data:</c>, or an SSE comment).
/// </summary>
public static class SavedResponseReader
{
    public static bool IsSseTranscript(string fileName, string content)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(content);
        return fileName.EndsWith(".sse", StringComparison.OrdinalIgnoreCase) || SseTranscriptParser.LooksLikeSse(content);
    }

    public static SavedResponse Read(string fileName, string content)
    {
        var streamed = IsSseTranscript(fileName, content);
        return new SavedResponse(streamed ? SseTranscriptParser.Parse(content) : MessageBodyParser.Parse(content), streamed);
    }
}
