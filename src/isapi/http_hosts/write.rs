//! `PUT /ISAPI/Event/notification/httpHosts/<id>`: the site's push URL written into a slot (after the slot
//! choice), or the slot emptied.

use super::document::empty_document;
use super::error::{classify, HttpHostError};
use super::read::http_hosts;
use super::slot_path;
use super::target::PushTarget;
use crate::isapi::client::IsapiClient;

/// Makes slot `id` post to `url` (the site's push URL, token in the query). A slot that posts to another path
/// (another system's) is left alone with [`HttpHostError::SlotTaken`] unless `overwrite`; one that already
/// posts to this path (an older token, another site address) is rewritten. Written again even when equal:
/// some terminals forget the host after a reboot (docs/push.md, Configuring the terminal).
pub async fn set_http_host(
    client: &IsapiClient,
    id: u32,
    url: &str,
    overwrite: bool,
) -> Result<(), HttpHostError> {
    let target = PushTarget::parse(url)?;
    let ours = target.route();
    if !overwrite {
        let hosts = http_hosts(client).await?;
        if let Some(slot) = hosts
            .iter()
            .find(|h| h.id == id)
            .filter(|h| h.posts_elsewhere(ours))
        {
            return Err(HttpHostError::SlotTaken {
                device: client.device().to_owned(),
                id,
                shown: slot.shown(),
                ours: ours.to_owned(),
            });
        }
    }
    client
        .put(&slot_path(id), target.document(id).into_bytes())
        .await
        .map_err(classify)?;
    Ok(())
}

/// Empties slot `id`: the terminal stops posting from it.
pub async fn clear_http_host(client: &IsapiClient, id: u32) -> Result<(), HttpHostError> {
    client
        .put(&slot_path(id), empty_document(id).into_bytes())
        .await
        .map_err(classify)?;
    Ok(())
}
