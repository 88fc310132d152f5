using System.Text;

namespace BRun.Diagnostics.Infrastructure.Tests.Datasets;

/// <summary>Dataset lines for import, scan and export tests.</summary>
internal static class DatasetLines
{
    public static string OpenAi(string assistant, string user = "I keep putting off my budget.", string? system = null) =>
        "{\"messages\": ["
        + (system is null ? string.Empty : $"{{\"role\": \"system\", \"content\": \"{system}\"}}, ")
        + $"{{\"role\": \"user\", \"content\": \"{user}\"}}, {{\"role\": \"assistant\", \"content\": \"{assistant}\"}}]}}";

    public static string ShareGpt(string gpt, string human = "Where do I start with debt?") =>
        $"{{\"conversations\": [{{\"from\": \"human\", \"value\": \"{human}\"}}, {{\"from\": \"gpt\", \"value\": \"{gpt}\"}}]}}";

    public static MemoryStream Stream(params string[] lines) => new(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));

    /// <summary>
    /// A JSONL stream produced on the fly as it is read: <paramref name="count"/> lines, never held in memory whole.
    /// Every <paramref name="cutEvery"/>-th line has an assistant turn cut mid-word; every <paramref name="badEvery"/>-th is not JSON.
    /// </summary>
    public sealed class Generated(int count, int cutEvery, int badEvery) : Stream
    {
        private int _line;
        private byte[] _current = [];
        private int _offset;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count1)
        {
            if (_offset == _current.Length)
            {
                if (_line == count)
                {
                    return 0;
                }

                _line++;
                var text = _line % badEvery == 0 ? "{not json" :
                    _line % cutEvery == 0 ? OpenAi($"Line {_line}: let us look at the numbers togeth") :
                    OpenAi($"Line {_line}: let us look at the numbers together, one step at a time.");
                _current = Encoding.UTF8.GetBytes(text + "\n");
                _offset = 0;
            }

            var n = Math.Min(count1, _current.Length - _offset);
            Array.Copy(_current, _offset, buffer, offset, n);
            _offset += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count1) => throw new NotSupportedException();
    }
}
