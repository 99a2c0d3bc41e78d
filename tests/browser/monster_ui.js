// The requests of Monster UI's Kazoo SDK (`pivot.listDebug`, `pivot.getDebug`):
// jQuery $.ajax GET, `cache: false` (adds `_=<ms>`), `contentType: 'application/json'`
// even on GET, the token in `X-Auth-Token`, path values through encodeURIComponent.
'use strict';

function kazooRequest(api, token, path) {
  return new Promise(function (resolve) {
    $.ajax({
      url: api + path,
      type: 'GET',
      cache: false,
      contentType: 'application/json',
      dataType: 'json',
      headers: { 'X-Auth-Token': token },
      success: function (body, _status, xhr) {
        resolve({ ok: true, status: xhr.status, body: body, requestId: xhr.getResponseHeader('X-Request-ID') });
      },
      error: function (xhr) {
        // The SDK parses the error body only when the type is exactly application/json.
        var parsed = xhr.getResponseHeader('Content-Type') === 'application/json'
          ? JSON.parse(xhr.responseText) : null;
        resolve({ ok: false, status: xhr.status, body: parsed });
      }
    });
  });
}

function listDebug(api, version, token, accountId) {
  return kazooRequest(api, token,
    '/' + version + '/accounts/' + encodeURIComponent(accountId) + '/pivot/debug').then(function (answer) {
    var list = document.getElementById('calls');
    list.textContent = '';
    if (answer.ok) {
      answer.body.data.forEach(function (call) {
        var item = document.createElement('li');
        item.textContent = call.call_id;
        list.appendChild(item);
      });
    } else {
      document.getElementById('error').textContent = answer.status + ' ' + (answer.body && answer.body.message);
    }
    return answer;
  });
}

function getDebug(api, version, token, accountId, callId) {
  return kazooRequest(api, token,
    '/' + version + '/accounts/' + encodeURIComponent(accountId) + '/pivot/debug/' + encodeURIComponent(callId)).then(function (answer) {
    var list = document.getElementById('records');
    list.textContent = '';
    if (answer.ok) {
      answer.body.data.forEach(function (record) {
        var item = document.createElement('li');
        item.textContent = record.iteration + ' ' + (record.resp_status_code || record.method || '');
        list.appendChild(item);
      });
    }
    return answer;
  });
}
