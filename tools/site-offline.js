/* Local stand-ins for the pkgdown 2.0.7 (Bootstrap 5) page libraries that
 * Debian 12 does not package; tools/site-offline.R loads this file in place
 * of their CDN copies so that pkgdown.js runs offline.
 * - headroom.js: none. The navbar stays fixed; it does not auto-hide on scroll.
 * - bootstrap-toc: a small builder of the "On this page" list from the
 *   page's h2/h3 headings (no nesting deeper than h3).
 * - fuse.js, autocomplete.js, mark.js: none. There is no search offline,
 *   so the navbar's search box is hidden rather than left doing nothing.
 */
(function($) {
  if (!$) return;
  $.fn.headroom = function() { return this; };
  $.fn.autocomplete = function() { return this; };
  window.Fuse = function() { this.search = function() { return []; }; };
  window.Mark = function() { this.mark = function() {}; };
  $(function() { $('form[role="search"]').hide(); });
  window.Toc = {
    init: function(opts) {
      var $nav = opts.$nav;
      if (!$nav || !$nav.length) return;
      var $list = $('<ul class="nav nav-pills flex-column"></ul>');
      opts.$scope.filter('h2, h3').each(function() {
        var id = this.id || $(this).closest('.section, section').attr('id');
        if (!id) return;
        var $a = $('<a class="nav-link"></a>').attr('href', '#' + id).text($(this).text());
        if (this.tagName === 'H3') $a.addClass('ms-3');
        $list.append($('<li class="nav-item"></li>').append($a));
      });
      $nav.append($list);
    }
  };
})(window.jQuery);
