using System.Text;

namespace BRun.Diagnostics.Simulator;

/// <summary>FNV-1a 64 over UTF-8: stable across processes and runtimes, unlike <see cref="string.GetHashCode()"/>.</summary>
internal static class StableHash
{
    private const ulong OffsetBasis = 14695981039346656037;
    private const ulong Prime = 1099511628211;

    public static ulong Of(int seed, string purpose, string text)
    {
        var hash = OffsetBasis;
        hash = Mix(hash, BitConverter.GetBytes(seed));
        hash = Mix(hash, Encoding.UTF8.GetBytes(purpose));
        hash = Mix(hash, [0]);
        return Mix(hash, Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Maps a hash to [0, 1) using its top 53 bits.</summary>
    public static double Unit(ulong hash) => (hash >> 11) * (1.0 / (1UL << 53));

    private static ulong Mix(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            hash ^= b;
            hash *= Prime;
        }

        return hash;
    }
}
