using System.Text;
using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Core.Tests.Messages;

/// <summary>
/// Writes one stream's events back out in the framings the event-stream rules allow (and the Python SDK's decoder
/// tests exercise): line endings, BOM, colon spacing, comments, data over several lines, id/retry fields, unknown
/// events, a trimmed end. Our own writer, from the rules; no fixture is copied.
/// </summary>
internal sealed record SseFraming(
    string LineEnding = "\n",
    bool Bom = false,
    bool NoSpaceAfterColon = false,
    bool Comments = false,
    bool SplitData = false,
    bool IdAndRetry = false,
    bool UnknownEvents = false,
    string Ending = "\n\n")
{
    public static readonly IReadOnlyDictionary<string, SseFraming> Named = new Dictionary<string, SseFraming>
    {
        ["lf"] = new(),
        ["crlf"] = new(LineEnding: "\r\n", Ending: "\r\n\r\n"),
        ["lone_cr"] = new(LineEnding: "\r", Ending: "\r\r"),
        ["bom"] = new(Bom: true),
        ["no_space_after_colon"] = new(NoSpaceAfterColon: true),
        ["comments"] = new(Comments: true),
        ["data_over_several_lines"] = new(SplitData: true),
        ["id_and_retry_fields"] = new(IdAndRetry: true),
        ["unknown_event_names"] = new(UnknownEvents: true),
        ["no_final_blank_line"] = new(Ending: "\n"),
        ["no_final_newline"] = new(Ending: ""),
        ["crlf_trimmed"] = new(LineEnding: "\r\n", Ending: ""),
        ["everything"] = new("\r", true, true, true, true, true, true, ""),
    };

    public string Write(IReadOnlyList<SseEvent> events, Random? random = null)
    {
        var text = new StringBuilder();
        if (Bom)
        {
            text.Append('\uFEFF');
        }

        if (IdAndRetry)
        {
            // A block with no data dispatches nothing.
            Line(text, "retry", "3000");
            text.Append(LineEnding);
        }

        for (var i = 0; i < events.Count; i++)
        {
            if (Comments)
            {
                text.Append(": keep-alive").Append(LineEnding);
            }

            if (UnknownEvents && i % 3 == 1)
            {
                Line(text, "event", "future_event");
                Line(text, "data", """{"type":"future_event","note":"ignored"}""");
                text.Append(LineEnding);
            }

            Line(text, "event", events[i].Name);
            if (IdAndRetry)
            {
                Line(text, "id", (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            foreach (var part in SplitData ? SplitOutsideStrings(events[i].Data, random) : [events[i].Data])
            {
                Line(text, "data", part);
                if (Comments && random?.Next(4) == 0)
                {
                    text.Append(':').Append(LineEnding);
                }
            }

            if (i < events.Count - 1)
            {
                text.Append(LineEnding);
            }
        }

        return text.Append(Ending).ToString();
    }

    public static SseFraming Random(Random random)
    {
        string[] endings = ["\n", "\r\n", "\r"];
        var lineEnding = endings[random.Next(endings.Length)];
        string[] finals = [lineEnding + lineEnding, lineEnding, string.Empty];
        return new SseFraming(
            lineEnding,
            random.Next(2) == 0,
            random.Next(2) == 0,
            random.Next(2) == 0,
            random.Next(2) == 0,
            random.Next(2) == 0,
            random.Next(2) == 0,
            finals[random.Next(finals.Length)]);
    }

    private void Line(StringBuilder text, string field, string value) =>
        text.Append(field).Append(NoSpaceAfterColon ? ":" : ": ").Append(value).Append(LineEnding);

    /// <summary>
    /// Splits JSON after structural commas. Data lines rejoin with LF, which JSON allows between tokens but not inside a
    /// string, so only commas outside strings are cut points.
    /// </summary>
    private static List<string> SplitOutsideStrings(string json, Random? random)
    {
        var parts = new List<string>();
        var inString = false;
        var escaped = false;
        var start = 0;
        for (var i = 0; i < json.Length; i++)
        {
            var c = json[i];
            if (escaped)
            {
                escaped = false;
            }
            else if (c == '\\' && inString)
            {
                escaped = true;
            }
            else if (c == '"')
            {
                inString = !inString;
            }
            else if (c == ',' && !inString && (random is null || random.Next(2) == 0))
            {
                parts.Add(json[start..(i + 1)]);
                start = i + 1;
            }
        }

        parts.Add(json[start..]);
        return parts;
    }
}
