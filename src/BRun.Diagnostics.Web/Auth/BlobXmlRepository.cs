using System.Xml.Linq;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace BRun.Diagnostics.Web.Auth;

/// <summary>
/// Keeps the Data Protection key ring in a private blob container, one blob per key, so sign-in cookies and
/// antiforgery tokens survive restarts and are accepted by every web instance that shares the storage account.
/// (The Azure package for this is not served here; the repository contract is two methods.)
/// Keys are stored as the framework writes them: protect the storage account as the secret it now holds.
/// </summary>
public sealed class BlobXmlRepository(BlobContainerClient container) : IXmlRepository
{
    private const string Prefix = "keys/";

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        var elements = new List<XElement>();
        try
        {
            foreach (var item in container.GetBlobs(BlobTraits.None, BlobStates.None, Prefix, CancellationToken.None))
            {
                using var stream = container.GetBlobClient(item.Name).OpenRead();
                elements.Add(XElement.Load(stream));
            }
        }
        catch (RequestFailedException ex) when (ex.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            // No key yet: the key manager creates one and stores it below.
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        container.CreateIfNotExists(PublicAccessType.None);
        using var content = new MemoryStream();
        element.Save(content, SaveOptions.DisableFormatting);
        content.Position = 0;

        // A key is written once and never changed; a name clash would be a bug, so do not overwrite.
        container.GetBlobClient($"{Prefix}{Sanitize(friendlyName)}.xml").Upload(content, overwrite: false);
    }

    private static string Sanitize(string name) =>
        string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-'));
}
