using System.Text.Json;
using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Infrastructure.Claude;

/// <summary>
/// Writes the POST /v1/messages body once per call; every attempt sends the same bytes. The count_tokens body is
/// written by the same code without the generation-only fields (max_tokens, temperature, stream), so a preview counts
/// exactly the input a run will send.
/// </summary>
internal static class MessagesRequestBody
{
    public static RequestSnapshot Resolve(ClaudeRequest request, ClaudeOptions options) => new(
        request.Model ?? options.Model,
        request.MaxTokens ?? options.MaxTokens,
        request.Temperature ?? options.Temperature,
        request.StructuredOutputs ?? options.StructuredOutputs,
        request.Stream ?? options.Stream,
        request.Prompt);

    public static byte[] Write(RequestSnapshot snapshot, string? systemPrompt, int cachePrefixLength = 0) =>
        Write(snapshot, systemPrompt, forCountTokens: false, cachePrefixLength);

    /// <summary>The POST /v1/messages/count_tokens body for the same request.</summary>
    public static byte[] WriteCountTokens(RequestSnapshot snapshot, string? systemPrompt, int cachePrefixLength = 0) =>
        Write(snapshot, systemPrompt, forCountTokens: true, cachePrefixLength);

    private static byte[] Write(RequestSnapshot snapshot, string? systemPrompt, bool forCountTokens, int cachePrefixLength)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("model", snapshot.Model);
            if (!forCountTokens)
            {
                writer.WriteNumber("max_tokens", snapshot.MaxTokens);
            }

            if (!forCountTokens && snapshot.Temperature is { } temperature)
            {
                writer.WriteNumber("temperature", temperature);
            }

            if (!string.IsNullOrEmpty(systemPrompt))
            {
                writer.WriteString("system", systemPrompt);
            }

            writer.WriteStartArray("messages");
            writer.WriteStartObject();
            writer.WriteString("role", "user");
            if (cachePrefixLength > 0 && cachePrefixLength < snapshot.Prompt.Length)
            {
                // The shared prefix is its own block with the cache breakpoint; the API caches everything up to it.
                // A prefix below the model's minimum cacheable length is simply not cached (no error).
                writer.WriteStartArray("content");
                writer.WriteStartObject();
                writer.WriteString("type", "text");
                writer.WriteString("text", snapshot.Prompt.AsSpan(0, cachePrefixLength));
                writer.WriteStartObject("cache_control");
                writer.WriteString("type", "ephemeral");
                writer.WriteEndObject();
                writer.WriteEndObject();
                writer.WriteStartObject();
                writer.WriteString("type", "text");
                writer.WriteString("text", snapshot.Prompt.AsSpan(cachePrefixLength));
                writer.WriteEndObject();
                writer.WriteEndArray();
            }
            else
            {
                writer.WriteString("content", snapshot.Prompt);
            }

            writer.WriteEndObject();
            writer.WriteEndArray();

            if (!forCountTokens && snapshot.Stream)
            {
                writer.WriteBoolean("stream", true);
            }

            if (snapshot.StructuredOutputsEnabled)
            {
                writer.WriteStartObject("output_config");
                writer.WriteStartObject("format");
                writer.WriteString("type", "json_schema");
                writer.WritePropertyName("schema");
                writer.WriteRawValue(ConversationSchema.Json);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
