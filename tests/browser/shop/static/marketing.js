window.shopMarketing = true;
