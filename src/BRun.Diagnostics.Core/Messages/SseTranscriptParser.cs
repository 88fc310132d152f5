using System.Text;
using System.Text.Json;

namespace BRun.Diagnostics.Core.Messages;

/// <summary>
/// Reassembles a Messages API SSE transcript into a <see cref="ParsedMessage"/>. Deltas are accumulated as raw
/// text and never parsed on their own (a delta may end in the middle of an escape). A stream without
/// <c>message_stop</c> is reported as cut; a torn last event is dropped, not half-parsed.
/// </summary>
public static class SseTranscriptParser
{
    /// <summary>True when the text looks like an SSE transcript rather than a JSON body.</summary>
    public static bool LooksLikeSse(string body)
    {
        var span = body.AsSpan().TrimStart();
        return span.StartsWith("event:", StringComparison.Ordinal)
            || span.StartsWith("data:", StringComparison.Ordinal)
            || span.StartsWith(':');
    }

    public static ParsedMessage Parse(string? transcript)
    {
        if (string.IsNullOrWhiteSpace(transcript))
        {
            return new ParsedMessage
            {
                Kind = BodyKind.Empty,
                StreamOutcome = StreamOutcome.CutBeforeMessageStop,
                ParseProblem = "The stream is empty: no events arrived.",
            };
        }

        var state = new StreamState();
        var (events, torn) = SplitEvents(transcript);
        foreach (var (name, data) in events)
        {
            state.EventCount++;
            if (!state.Apply(name, data))
            {
                break;
            }
        }

        state.DroppedTorn = torn;
        return state.Build();
    }

    /// <summary>Splits on blank lines. The last event counts only when the transcript ends with its blank line.</summary>
    private static (List<(string? Name, string Data)> Events, bool Torn) SplitEvents(string transcript)
    {
        var events = new List<(string?, string)>();
        string? name = null;
        var data = new StringBuilder();
        var hasFields = false;
        var position = 0;
        while (position < transcript.Length)
        {
            var end = transcript.IndexOf('\n', position);
            if (end < 0)
            {
                // A final line with no newline: the event it belongs to is torn.
                return (events, true);
            }

            var line = transcript.AsSpan(position, end - position).TrimEnd('\r');
            position = end + 1;
            if (line.IsEmpty)
            {
                if (hasFields)
                {
                    events.Add((name, data.ToString()));
                }

                name = null;
                data.Clear();
                hasFields = false;
                continue;
            }

            if (line[0] == ':')
            {
                continue;
            }

            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? [] : line[(colon + 1)..];
            if (!value.IsEmpty && value[0] == ' ')
            {
                value = value[1..];
            }

            hasFields = true;
            if (field.SequenceEqual("event"))
            {
                name = value.ToString();
            }
            else if (field.SequenceEqual("data"))
            {
                if (data.Length > 0)
                {
                    data.Append('\n');
                }

                data.Append(value);
            }
        }

        return (events, hasFields);
    }

    private sealed class StreamState
    {
        private readonly SortedDictionary<int, Block> _blocks = [];
        private ParsedMessage? _start;
        private string? _stopReason;
        private string? _stopSequence;
        private string? _category;
        private string? _explanation;
        private int? _deltaOutputTokens;
        private int? _deltaInputTokens;
        private bool _stopped;
        private ParsedMessage? _error;
        private string? _problem;

        public int EventCount { get; set; }
        public bool DroppedTorn { get; set; }

        /// <returns>False when nothing after this event can matter (error or message_stop).</returns>
        public bool Apply(string? name, string data)
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(data);
            }
            catch (JsonException ex)
            {
                _problem ??= $"Event {EventCount} ({name ?? "unnamed"}) has data that is not JSON ({MessageBodyParser.Describe(ex)}).";
                return true;
            }

            using (document)
            {
                var root = document.RootElement;
                var type = MessageBodyParser.GetString(root, "type") ?? name;
                switch (type)
                {
                    case "message_start" when root.TryGetProperty("message", out var message):
                        _start = MessageBodyParser.FromElement(message);
                        break;
                    case "content_block_start" when root.TryGetProperty("content_block", out var startBlock):
                        var block = BlockAt(root);
                        block.Type = MessageBodyParser.GetString(startBlock, "type") ?? "(untyped)";
                        if (MessageBodyParser.GetString(startBlock, "text") is { } initial)
                        {
                            block.Text.Append(initial);
                        }

                        break;
                    case "content_block_delta" when root.TryGetProperty("delta", out var delta):
                        if (MessageBodyParser.GetString(delta, "type") == "text_delta"
                            && MessageBodyParser.GetString(delta, "text") is { } piece)
                        {
                            var target = BlockAt(root);
                            target.Type ??= "text";
                            target.Text.Append(piece);
                        }

                        break;
                    case "message_delta":
                        if (root.TryGetProperty("delta", out var messageDelta))
                        {
                            _stopReason = MessageBodyParser.GetString(messageDelta, "stop_reason") ?? _stopReason;
                            _stopSequence = MessageBodyParser.GetString(messageDelta, "stop_sequence") ?? _stopSequence;
                            if (messageDelta.TryGetProperty("stop_details", out var details))
                            {
                                _category = MessageBodyParser.GetString(details, "category");
                                _explanation = MessageBodyParser.GetString(details, "explanation");
                            }
                        }

                        if (root.TryGetProperty("usage", out var usage))
                        {
                            _deltaOutputTokens = MessageBodyParser.GetInt(usage, "output_tokens") ?? _deltaOutputTokens;
                            _deltaInputTokens = MessageBodyParser.GetInt(usage, "input_tokens") ?? _deltaInputTokens;
                        }

                        break;
                    case "message_stop":
                        _stopped = true;
                        return false;
                    case "error":
                        _error = MessageBodyParser.ReadError(root);
                        return false;
                }
            }

            return true;
        }

        public ParsedMessage Build()
        {
            var text = new StringBuilder();
            var types = new List<string>(_blocks.Count);
            foreach (var block in _blocks.Values)
            {
                types.Add(block.Type ?? "(untyped)");
                if (block.Type == "text")
                {
                    text.Append(block.Text);
                }
            }

            var startUsage = _start?.Usage ?? Usage.None;
            var usage = startUsage with
            {
                InputTokens = _deltaInputTokens ?? startUsage.InputTokens,
                OutputTokens = _deltaOutputTokens ?? startUsage.OutputTokens,
            };

            var outcome = _error is not null ? StreamOutcome.ErrorEvent
                : _stopped ? StreamOutcome.Completed
                : StreamOutcome.CutBeforeMessageStop;

            var kind = _error is not null ? BodyKind.ApiError
                : _start is not null ? BodyKind.Message
                : BodyKind.UnexpectedShape;

            return new ParsedMessage
            {
                Kind = kind,
                Id = _start?.Id,
                Model = _start?.Model,
                StopReason = _stopReason,
                StopSequence = _stopSequence,
                StopDetailsCategory = _category,
                StopDetailsExplanation = _explanation,
                Usage = usage,
                Text = text.ToString(),
                ContentBlockTypes = types,
                ErrorType = _error?.ErrorType,
                ErrorMessage = _error?.ErrorMessage,
                StreamOutcome = outcome,
                EventCount = EventCount,
                DroppedTornEvent = DroppedTorn,
                ParseProblem = _problem ?? (_start is null && _error is null ? "The stream has no message_start event." : null),
            };
        }

        private Block BlockAt(JsonElement root)
        {
            var index = MessageBodyParser.GetInt(root, "index") ?? 0;
            if (!_blocks.TryGetValue(index, out var block))
            {
                block = new Block();
                _blocks[index] = block;
            }

            return block;
        }
    }

    private sealed class Block
    {
        public string? Type { get; set; }
        public StringBuilder Text { get; } = new();
    }
}
