//! HTTP listening over ISAPI (`/ISAPI/Event/notification/httpHosts`) as a client sees it on the wire: a written
//! slot refused the way a terminal refuses it (status, `subStatusCode`, `errorMsg` naming the field), a slot
//! the pusher cannot follow refused, and a slot written, read back and emptied.

mod sim_support;

use reqwest::Method;
use sim_support::{config, start, Client};

const ONE: &str = "/ISAPI/Event/notification/httpHosts/1";
const LIST: &str = "/ISAPI/Event/notification/httpHosts";

fn host(id: &str, fields: &str) -> String {
    format!("<HttpHostNotification><id>{id}</id>{fields}</HttpHostNotification>")
}

#[tokio::test]
async fn written_slots_are_refused_as_a_terminal_refuses_them() {
    let sim = start(config(1, 10)).await;
    let mut client = Client::new(&sim.devices[0]);
    let http = "<url>/p</url><protocolType>HTTP</protocolType><ipAddress>127.0.0.1</ipAddress>";
    for (path, body, sub_status, error_msg) in [
        (
            ONE,
            "<HttpHostNotification><id>1</id>".to_owned(),
            "badXmlFormat",
            "badXmlFormat",
        ),
        (
            ONE,
            "<Other/>".to_owned(),
            "MessageParametersLack",
            "HttpHostNotification",
        ),
        (ONE, host("1", http), "MessageParametersLack", "portNo"),
        (
            ONE,
            host("2", &format!("{http}<portNo>80</portNo>")),
            "badParameters",
            "id",
        ),
        (
            ONE,
            host(
                "1",
                "<protocolType>FTP</protocolType><ipAddress>1.2.3.4</ipAddress><portNo>80</portNo>",
            ),
            "badParameters",
            "protocolType",
        ),
        (
            ONE,
            host("1", &format!("{http}<portNo>0</portNo>")),
            "badParameters",
            "portNo",
        ),
        (
            ONE,
            format!(
                "<HttpHostNotificationList>{}{}</HttpHostNotificationList>",
                host("1", &format!("{http}<portNo>80</portNo>")),
                host("1", &format!("{http}<portNo>81</portNo>"))
            ),
            "badParameters",
            "HttpHostNotification",
        ),
    ] {
        let reply = client.call_xml(Method::PUT, path, &body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(
            reply.xml("subStatusCode").as_deref(),
            Some(sub_status),
            "{body}"
        );
        assert_eq!(reply.xml("errorMsg").as_deref(), Some(error_msg), "{body}");
    }
    // Nothing refused was stored.
    let list = client.call_xml(Method::GET, LIST, "").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.xml("url").as_deref(), Some(""));
}

#[tokio::test]
async fn a_host_the_pusher_cannot_reach_is_refused_and_a_slot_is_written_and_emptied() {
    let sim = start(config(1, 10)).await;
    let mut client = Client::new(&sim.devices[0]);
    let unreachable = host(
        "1",
        "<url>/p</url><protocolType>HTTP</protocolType><addressingFormatType>hostname</addressingFormatType>\
         <hostName>bad host</hostName><portNo>80</portNo>",
    );
    let reply = client.call_xml(Method::PUT, ONE, &unreachable).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.xml("subStatusCode").as_deref(), Some("badParameters"));
    let msg = reply.xml("errorMsg").expect("errorMsg");
    assert!(
        msg.starts_with("push url &quot;http://bad host:80/p&quot;: "),
        "{msg}"
    );

    let written = host(
        "1",
        "<url>/api/method/x?token=t</url><protocolType>HTTP</protocolType>\
         <ipAddress>127.0.0.1</ipAddress><portNo>9</portNo>",
    );
    let reply = client.call_xml(Method::PUT, ONE, &written).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let one = client.call_xml(Method::GET, ONE, "").await;
    assert_eq!(one.xml("url").as_deref(), Some("/api/method/x?token=t"));
    assert_eq!(one.xml("portNo").as_deref(), Some("9"));
    let reply = client.call_xml(Method::DELETE, ONE, "").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let one = client.call_xml(Method::GET, ONE, "").await;
    assert_eq!(one.xml("url").as_deref(), Some(""));
    assert_eq!(one.xml("ipAddress").as_deref(), Some("0.0.0.0"));
}
