using System.Runtime.CompilerServices;
using System.Text;

namespace BRun.Diagnostics.Infrastructure.Tests.Claude;

/// <summary>Messages API sample bodies kept next to this file (copied from the shared fixture set).</summary>
internal static class Fixtures
{
    public static byte[] Bytes(string name) => File.ReadAllBytes(Path.Combine(Directory(), "Fixtures", name));

    public static string Text(string name) => Encoding.UTF8.GetString(Bytes(name));

    private static string Directory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
