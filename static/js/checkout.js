/* Card payment: Stripe.js turns the card into a token in the browser; only the token is posted.
   Loaded only on /checkout/pay/<ref>/, after Stripe.js. */
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  if (!form) return;
  var errors = document.getElementById("card-errors");
  var button = document.getElementById("pay-button");
  if (typeof Stripe === "undefined") {
    errors.textContent = "The secure card field could not load. Please check your connection and reload the page.";
    button.disabled = true;
    return;
  }
  var stripe = Stripe(form.dataset.stripeKey);
  var label = button.textContent;

  function fail(message) {
    errors.textContent = message || "Please check your card details and try again.";
    button.disabled = false;
    button.textContent = label;
  }

  if (form.dataset.clientSecret) {
    // The bank asked for extra authentication (3-D Secure): let Stripe.js handle it.
    button.disabled = true;
    button.textContent = "Waiting for your bank…";
    stripe.confirmCardPayment(form.dataset.clientSecret).then(function (result) {
      if (result.error) {
        fail(result.error.message || "Your bank did not confirm the payment.");
      } else {
        window.location.assign(form.dataset.doneUrl);
      }
    });
  }

  var card = stripe.elements().create("card", {hidePostalCode: true});
  card.mount("#card-element");

  form.addEventListener("submit", function (event) {
    if (form.elements.card_token.value) return;  // token set: let the browser post the form
    event.preventDefault();
    if (button.disabled) return;  // a second click while the first is working does nothing
    button.disabled = true;
    button.textContent = "Processing…";
    errors.textContent = "";
    stripe.createToken(card).then(function (result) {
      if (result.error) {
        fail(result.error.message);
        return;
      }
      form.elements.card_token.value = result.token.id;
      form.submit();
    }, function () { fail(); });
  });
})();
