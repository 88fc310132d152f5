using System.Text;
using System.Text.Json;

namespace BRun.Diagnostics.Core.Messages;

/// <summary>
/// Reassembles a Messages API SSE transcript into a <see cref="ParsedMessage"/>. Events are framed by the event-stream
/// rules (<see cref="EventStreamFramer"/>), the same for live capture and saved transcripts. Deltas are accumulated as
/// raw text and never parsed on their own (a delta may end in the middle of an escape). The end is judged on content:
/// a last event whose data is complete JSON counts even without its final blank line; one whose data stops mid-JSON
/// is torn and dropped, not half-parsed; a stream without <c>message_stop</c> is cut.
/// </summary>
public static class SseTranscriptParser
{
    /// <summary>The event types of the Messages API stream. Others are ignored, as the event-stream rules ask.</summary>
    private static readonly HashSet<string> KnownEvents = new(StringComparer.Ordinal)
    {
        "message_start", "content_block_start", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop", "ping", "error",
    };

    /// <summary>True when the text looks like an SSE transcript rather than a JSON body.</summary>
    public static bool LooksLikeSse(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var span = body.AsSpan().TrimStart('\uFEFF').TrimStart();
        return span.StartsWith("event:", StringComparison.Ordinal)
            || span.StartsWith("data:", StringComparison.Ordinal)
            || span.StartsWith("id:", StringComparison.Ordinal)
            || span.StartsWith("retry:", StringComparison.Ordinal)
            || span.StartsWith(':');
    }

    public static ParsedMessage Parse(string? transcript)
    {
        if (string.IsNullOrWhiteSpace(transcript) || transcript.AsSpan().Trim('\uFEFF').IsWhiteSpace())
        {
            return new ParsedMessage
            {
                Kind = BodyKind.Empty,
                StreamOutcome = StreamOutcome.CutBeforeMessageStop,
                ParseProblem = "The stream is empty: no events arrived.",
            };
        }

        var framed = EventStreamFramer.Frame(transcript);
        var state = new StreamState();
        var finished = false;
        foreach (var sse in framed.Events)
        {
            if (!state.Dispatch(sse.Name, sse.Data))
            {
                finished = true;
                break;
            }
        }

        if (!finished && framed.Unterminated is { } last)
        {
            state.Finish(last);
        }

        return state.Build();
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
        private int _eventCount;
        private int _ignoredCount;
        private string? _lastEventName;
        private string? _tornEventName;
        private bool _torn;
        private bool _noFinalBlankLine;

        /// <summary>Applies one complete event.</summary>
        /// <returns>False when nothing after this event can matter (error or message_stop).</returns>
        public bool Dispatch(string name, string data)
        {
            _eventCount++;
            _lastEventName = name;
            if (name != EventStreamFramer.DefaultEventName && !KnownEvents.Contains(name))
            {
                _ignoredCount++;
                return true;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(data);
            }
            catch (JsonException ex)
            {
                _problem ??= $"Event {_eventCount} ({name}) has data that is not JSON ({MessageBodyParser.Describe(ex)}).";
                return true;
            }

            return Apply(name, document);
        }

        /// <summary>
        /// Judges the block the transcript ended inside: complete JSON data is a whole event that only lacks its
        /// blank line (editors and tools trim trailing whitespace); anything else was torn mid-way and is dropped.
        /// </summary>
        public void Finish(UnterminatedEvent last)
        {
            if (last.Data is { } data && TryParseObject(data) is { } document)
            {
                _eventCount++;
                _lastEventName = last.Name ?? EventStreamFramer.DefaultEventName;
                _noFinalBlankLine = true;
                if (_lastEventName == EventStreamFramer.DefaultEventName || KnownEvents.Contains(_lastEventName))
                {
                    Apply(_lastEventName, document);
                }
                else
                {
                    _ignoredCount++;
                    document.Dispose();
                }

                return;
            }

            _torn = true;
            _tornEventName = last.Name;
        }

        private static JsonDocument? TryParseObject(string data)
        {
            try
            {
                var document = JsonDocument.Parse(data);
                if (document.RootElement.ValueKind == JsonValueKind.Object)
                {
                    return document;
                }

                document.Dispose();
            }
            catch (JsonException)
            {
                // Data that stops mid-JSON: the caller reports the event as torn.
            }

            return null;
        }

        private bool Apply(string name, JsonDocument document)
        {
            using (document)
            {
                var root = document.RootElement;

                // The event name decides; a transcript saved without event lines falls back on the data's type.
                var type = name == EventStreamFramer.DefaultEventName ? MessageBodyParser.GetString(root, "type") : name;
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
                EventCount = _eventCount,
                IgnoredEventCount = _ignoredCount,
                LastEventName = _lastEventName,
                DroppedTornEvent = _torn,
                TornEventName = _tornEventName,
                EndedWithoutBlankLine = _noFinalBlankLine,
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
