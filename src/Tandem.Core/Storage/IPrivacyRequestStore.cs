using Tandem.Privacy;

namespace Tandem.Storage;

/// <summary>
/// The privacy requests' storage port: the record of what was asked, by whom, when it is due and what was
/// done. A completed request's subject is saved in its masked form, and the adapter leaves no copy of the
/// clear one behind (freed pages, journal).
/// </summary>
public interface IPrivacyRequestStore
{
    /// <summary>Keeps a new request; answers it.</summary>
    PrivacyRequest Add(PrivacyRequest request);

    /// <summary>Writes a request's subject, status, completion, result, error and attempts.</summary>
    void Save(PrivacyRequest request);

    PrivacyRequest? Find(string id);

    /// <summary>Newest first, optionally of one status and one type, before a cursor (a request id).</summary>
    IReadOnlyList<PrivacyRequest> List(string? status, string? type, string? before, int limit);

    /// <summary>Requests that were received or being processed when Tandem stopped: run again at start.</summary>
    IReadOnlyList<PrivacyRequest> Unfinished();
}
